-- The attributes the order tag rules (seeds/order_tag_rules.csv) may test, one row per
-- order: value, lines, channel, destination, store, customer tier, delivery method,
-- current status, and the products' categories and SKUs (as arrays).
with

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

order_items as (

    select * from {{ ref('stg_erp__sales_order_items') }}

),

products as (

    select * from {{ ref('product_catalog') }}

),

customers as (

    select * from {{ ref('int_customers__tiered') }}

),

order_products as (

    select
        order_items.order_id,
        count(*) as item_count,
        array_agg(distinct order_items.sku order by order_items.sku) as skus,
        coalesce(
            array_agg(distinct products.product_category order by products.product_category)
                filter (where products.product_category is not null),
            cast(array[] as text[])
        ) as product_categories

    from order_items
    left join products
        on order_items.sku = products.sku
    group by order_items.order_id

),

final as (

    select
        orders.order_id,
        orders.total_net_amount as order_value,
        coalesce(order_products.item_count, 0) as item_count,
        orders.channel,
        orders.ship_to_country as destination_country,
        orders.ship_to_region as destination_region,
        orders.region as sales_region,
        orders.store_id,
        orders.customer_id,
        customers.customer_tier,
        orders.delivery_method,
        orders.canonical_status,
        coalesce(order_products.product_categories, cast(array[] as text[])) as product_categories,
        coalesce(order_products.skus, cast(array[] as text[])) as skus

    from orders
    left join order_products
        on orders.order_id = order_products.order_id
    left join customers
        on orders.customer_id = customers.customer_id

)

select * from final
