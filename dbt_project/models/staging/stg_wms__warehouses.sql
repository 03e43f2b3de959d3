with

source as (

    select * from {{ source('wms', 'warehouses') }}

),

renamed as (

    select

        ---------- ids
        cast(data ->> 'id' as bigint) as warehouse_id,
        data ->> 'code' as warehouse,
        data ->> 'name' as warehouse_name,
        cast(data -> 'lot_stock_id' ->> 0 as bigint) as stock_location_id,
        data -> 'location_ids' as locations,

        ---------- where and what
        data ->> 'partner_city' as city,
        data ->> 'partner_country_code' as country,
        cast(data ->> 'partner_latitude' as double precision) as latitude,
        cast(data ->> 'partner_longitude' as double precision) as longitude,
        coalesce(cast(data ->> 'x_cold_chain' as boolean), false) as is_cold_chain,
        data ->> 'x_operator' as operator,
        -- archived in Odoo (active = false; read because the connector asks active_test
        -- false): kept and flagged, not dropped
        not coalesce(cast(data ->> 'active' as boolean), true) as is_archived,

        ---------- timestamps
        cast(data ->> 'write_date' as timestamptz) as changed_at,

        ---------- provenance
        {{ raw_provenance() }}

    from source

)

select * from renamed
