{{ config(indexes=[
    {'columns': ['sku', 'store_id', 'region', 'demand_date'], 'unique': true},
    {'columns': ['demand_date']},
]) }}

-- Units ordered per SKU, store, region and day (UTC creation date of the order), from the
-- order lines of every system (fct_order_lines): the items of the latest ERP version of
-- every order that is not cancelled, and the file source's lines. Returns (negative
-- quantities) are not demand: they are counted apart. Days without orders have no row.
with

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where not is_cancelled

),

live_order_lines as (

    select
        sku,
        store_id,
        region,
        country,
        cast(ordered_at at time zone 'UTC' as date) as demand_date,
        source_system || ':' || order_id as order_key,
        quantity,
        net_amount,
        on_promotion

    from order_lines

),

final as (

    select
        sku,
        store_id,
        region,
        demand_date,
        sum(greatest(quantity, 0)) as units,
        count(distinct order_key) as orders,
        sum(net_amount) as net_amount,
        sum(greatest(-quantity, 0)) as returned_units,
        max(country) as country,
        bool_or(on_promotion) as on_promotion

    from live_order_lines
    group by sku, store_id, region, demand_date

)

select * from final
