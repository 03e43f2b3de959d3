{{ config(indexes=[
    {'columns': ['source_system', 'order_id', 'line_id'], 'unique': true},
    {'columns': ['sku', 'store_id']},
    {'columns': ['ordered_at']},
]) }}

-- Every order line the sources send, in one shape: the items of the latest ERP version of
-- every order (with the order's store, region, ship-to country, creation time and whether
-- its current status is cancelled) and the latest version of every line of the file source
-- (a negative quantity is a return). One row per system, order and line.
with

erp_items as (

    select * from {{ ref('stg_erp__sales_order_items') }}

),

erp_orders as (

    select * from {{ ref('fct_order_current_status') }}

),

file_lines as (

    select * from {{ ref('stg_file__order_lines') }}
    where is_latest_version

),

erp as (

    select
        'erp' as source_system,
        erp_items.order_id,
        erp_items.item_id as line_id,
        erp_items.sku,
        erp_orders.store_id,
        erp_orders.region,
        erp_orders.ship_to_country as country,
        erp_orders.created_at as ordered_at,
        erp_items.quantity,
        erp_items.net_amount / nullif(erp_items.quantity, 0) as unit_price,
        erp_items.net_amount,
        erp_items.quantity < 0 as is_return,
        false as on_promotion,
        erp_orders.canonical_status is not distinct from 'cancelled' as is_cancelled,
        erp_items.record_key,
        erp_items.content_hash

    from erp_items
    inner join erp_orders
        on erp_items.order_id = erp_orders.order_id

),

files as (

    select
        'file' as source_system,
        order_id,
        line_id,
        sku,
        store_id,
        region,
        country,
        ordered_at,
        quantity,
        unit_price,
        net_amount,
        is_return,
        on_promotion,
        false as is_cancelled,
        record_key,
        content_hash

    from file_lines

),

final as (

    select * from erp
    union all
    select * from files

)

select * from final
