{{ config(indexes=[
    {'columns': ['delivery_method', 'lane_level']},
]) }}

-- Observed transit times per lane, from the outbound shipments that arrived: how many
-- hours from the hand-over to the carrier to the arrival (delivered, or available for
-- pickup), and from the order's creation to the arrival, per delivery method at five
-- levels of detail - the lane itself (origin warehouse → destination country and region),
-- then ever coarser (origin → country; country and region from any origin; country; the
-- delivery method alone). fct_delivery_estimates takes the most detailed level observed
-- often enough (var lane_min_shipments). var transit_history_until keeps only shipments
-- that arrived before it (the backtest, bench/delivery_estimates.py). Rebuilt in full
-- each run.

with

shipments as (

    select * from {{ ref('fct_shipment_current_status') }}
    where direction = 'outbound'
        and arrived_at is not null
        and handed_over_at is not null
        and arrived_at > handed_over_at
        {%- if var('transit_history_until', none) %}
        and arrived_at < cast({{ text_literal(var('transit_history_until')) }} as timestamptz)
        {%- endif %}

),

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

observed as (

    select
        shipments.warehouse as origin_warehouse,
        orders.ship_to_country as destination_country,
        orders.ship_to_region as destination_region,
        {{ delivery_method_of('orders') }} as delivery_method,
        extract(epoch from shipments.arrived_at - shipments.handed_over_at) / 3600.0
            as transit_hours,
        extract(epoch from shipments.arrived_at - orders.created_at) / 3600.0
            as order_to_arrival_hours

    from shipments
    inner join orders
        on shipments.order_id = orders.order_id
    where orders.ship_to_country is not null
        and orders.created_at is not null

),

lanes as (

    select
        delivery_method,
        origin_warehouse,
        destination_country,
        destination_region,
        -- 1 the lane, 2 origin → country, 3 country and region, 4 country, 5 method
        case grouping(origin_warehouse, destination_country, destination_region)
            when 0 then 1
            when 1 then 2
            when 4 then 3
            when 5 then 4
            else 5
        end as lane_level,
        count(*) as shipments,
        percentile_cont(0.5) within group (order by transit_hours) as median_transit_hours,
        percentile_cont(0.9) within group (order by transit_hours) as p90_transit_hours,
        percentile_cont(0.5) within group (order by order_to_arrival_hours)
            as median_order_to_arrival_hours

    from observed
    group by grouping sets (
        (delivery_method, origin_warehouse, destination_country, destination_region),
        (delivery_method, origin_warehouse, destination_country),
        (delivery_method, destination_country, destination_region),
        (delivery_method, destination_country),
        (delivery_method)
    )

),

final as (

    select
        delivery_method,
        lane_level,
        origin_warehouse,
        destination_country,
        destination_region,
        shipments,
        round(cast(median_transit_hours as numeric), 2) as median_transit_hours,
        round(cast(p90_transit_hours as numeric), 2) as p90_transit_hours,
        round(cast(median_order_to_arrival_hours as numeric), 2) as median_order_to_arrival_hours

    from lanes

)

select * from final
