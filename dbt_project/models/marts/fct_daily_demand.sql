{{ config(indexes=[
    {'columns': ['sku', 'store_id', 'region', 'demand_date'], 'unique': true},
    {'columns': ['demand_date']},
]) }}

-- Units ordered per SKU, store, region and day (UTC creation date of the order), from
-- the items of the latest ERP version of every order that is not cancelled. Days
-- without orders have no row.
with

order_items as (

    select * from {{ ref('stg_erp__sales_order_items') }}

),

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

live_order_items as (

    select
        order_items.sku,
        orders.store_id,
        orders.region,
        cast(orders.created_at at time zone 'UTC' as date) as demand_date,
        order_items.order_id,
        order_items.quantity,
        order_items.net_amount

    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    where orders.canonical_status is distinct from 'cancelled'

),

final as (

    select
        sku,
        store_id,
        region,
        demand_date,
        sum(quantity) as units,
        count(distinct order_id) as orders,
        sum(net_amount) as net_amount

    from live_order_items
    group by sku, store_id, region, demand_date

)

select * from final
