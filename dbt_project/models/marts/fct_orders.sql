{{ config(indexes=[
    {'columns': ['source_system', 'order_id'], 'unique': true},
    {'columns': ['ordered_at']},
]) }}

-- One row per order of every system that sends order lines (fct_order_lines): its store,
-- region, country and time, how many lines and units it has, what was returned and its net
-- amount. ERP orders' statuses live in fct_order_current_status; file orders have none.
with

lines as (

    select * from {{ ref('fct_order_lines') }}

),

final as (

    select
        source_system,
        order_id,
        min(store_id) as store_id,
        min(region) as region,
        min(country) as country,
        min(ordered_at) as ordered_at,
        count(*) as lines,
        sum(greatest(quantity, 0)) as units,
        sum(greatest(-quantity, 0)) as returned_units,
        sum(net_amount) as net_amount,
        bool_or(on_promotion) as has_promotion,
        bool_or(is_cancelled) as is_cancelled

    from lines
    group by source_system, order_id

)

select * from final
