with

source as (

    select * from {{ source('file', 'order_lines') }}

),

renamed as (

    select

        ---------- ids
        data ->> 'order_id' as order_id,
        data ->> 'line_id' as line_id,
        data ->> 'sku' as sku,
        data ->> 'store_id' as store_id,

        ---------- strings (a file without region falls back to its country, then 'unassigned')
        coalesce(
            nullif(data ->> 'region', ''),
            nullif(data ->> 'country', ''),
            'unassigned'
        ) as region,
        upper(nullif(data ->> 'country', '')) as country,

        ---------- numerics (a negative quantity is a return, kept as such)
        cast(data ->> 'quantity' as numeric) as quantity,
        cast(data ->> 'unit_price' as numeric) as unit_price,
        cast(data ->> 'quantity' as numeric)
            * cast(data ->> 'unit_price' as numeric) as net_amount,

        ---------- booleans
        cast(data ->> 'quantity' as numeric) < 0 as is_return,
        coalesce(cast(data ->> 'on_promotion' as boolean), false) as on_promotion,

        ---------- timestamps
        cast(data ->> 'ordered_at' as timestamptz) as ordered_at,

        ---------- provenance
        record_key,
        content_hash,
        batch_id,
        extracted_at

    from source

),

final as (

    select
        *,
        row_number() over (
            partition by record_key
            order by extracted_at desc, content_hash desc
        ) = 1 as is_latest_version

    from renamed

)

select * from final
