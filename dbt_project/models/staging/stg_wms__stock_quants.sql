with

source as (

    select * from {{ source('wms', 'stock_quants') }}

),

renamed as (

    select

        ---------- ids
        cast(data ->> 'id' as bigint) as quant_id,
        data -> 'product_id' ->> 1 as sku,
        data -> 'warehouse_id' ->> 1 as warehouse,
        cast(data -> 'location_id' ->> 0 as bigint) as location_id,
        data -> 'location_id' ->> 1 as location_name,

        ---------- numerics
        cast(data ->> 'quantity' as numeric) as quantity,
        cast(data ->> 'reserved_quantity' as numeric) as reserved_quantity,
        greatest(
            cast(data ->> 'quantity' as numeric) - cast(data ->> 'reserved_quantity' as numeric), 0
        ) as available_quantity,

        ---------- timestamps
        cast(data ->> 'write_date' as timestamptz) as changed_at,

        ---------- provenance
        {{ raw_provenance() }}

    from source

)

select * from renamed
