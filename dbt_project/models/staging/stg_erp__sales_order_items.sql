with

latest_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}
    where is_latest_version

),

unnested as (

    select
        latest_orders.order_id,
        latest_orders.record_key,
        latest_orders.content_hash,
        item.value as item

    from latest_orders
    cross join lateral jsonb_array_elements(
        {{ jsonb_array_or_empty('latest_orders.items') }}
    ) as item

),

renamed as (

    select

        ---------- ids
        order_id,
        item ->> 'SalesOrderItem' as item_id,
        item ->> 'Material' as sku,

        ---------- numerics
        cast(item ->> 'RequestedQuantity' as numeric) as quantity,
        cast(item ->> 'NetAmount' as numeric) as net_amount,

        ---------- provenance
        record_key,
        content_hash

    from unnested

)

select * from renamed
