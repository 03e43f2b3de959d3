{{ config(indexes=[
    {'columns': ['order_id'], 'unique': true},
]) }}

-- One row per order: when the shop promised it (seeds/delivery_promises), when it is
-- expected, and when it arrived. Each outbound parcel is expected when its carrier says
-- (the tracker's own estimate) or, without one, after the transit time observed on its
-- lane (fct_lane_transit_times: from the hand-over to the carrier, or from the order's
-- creation while it has not left; the most detailed lane level observed often enough).
-- An order not yet in the warehouse is expected after its lane's order-to-arrival time.
-- The order is expected when its last parcel is, and delivered when every parcel arrived;
-- a cancelled order is expected never. It is late when delivered, or expected, after the
-- promise, or still not delivered when the promise has passed as the sources stand.
-- Rebuilt in full each run (the lanes and the clock move).

with

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

shipments as (

    select * from {{ ref('fct_shipment_current_status') }}
    where direction = 'outbound'

),

lanes as (

    select * from {{ ref('fct_lane_transit_times') }}
    where shipments >= {{ var('lane_min_shipments', 5) }}

),

promises as (

    select * from {{ ref('delivery_promises') }}

),

clock as (

    select {{ sources_as_of() }} as as_of

),

order_routes as (

    select
        order_id,
        created_at,
        canonical_status,
        {{ delivery_method_of('orders') }} as delivery_method,
        ship_to_country,
        ship_to_region

    from orders

),

parcels as (

    -- the order's outbound parcels; an order without one yet stands for its future parcel
    select
        order_id,
        warehouse,
        handed_over_at,
        arrived_at,
        carrier_estimated_delivery_at

    from shipments

    union all

    select
        order_id,
        null,
        null,
        null,
        null

    from orders
    where not exists (select from shipments where shipments.order_id = orders.order_id)

),

parcel_estimates as (

    select
        parcels.order_id,
        parcels.handed_over_at,
        parcels.arrived_at,
        parcels.carrier_estimated_delivery_at,
        case
            when parcels.handed_over_at is not null
                then parcels.handed_over_at + {{ hours('lane.median_transit_hours') }}
            else order_routes.created_at + {{ hours('lane.median_order_to_arrival_hours') }}
        end as lane_estimated_delivery_at,
        lane.lane_level,
        lane.shipments as lane_shipments

    from parcels
    inner join order_routes
        on parcels.order_id = order_routes.order_id
    left join lateral (
        select * from lanes
        where lanes.delivery_method = order_routes.delivery_method
            and (lanes.lane_level in (3, 4, 5) or lanes.origin_warehouse = parcels.warehouse)
            and (lanes.lane_level = 5 or lanes.destination_country = order_routes.ship_to_country)
            and (lanes.lane_level in (2, 4, 5) or lanes.destination_region = order_routes.ship_to_region)
        order by lanes.lane_level
        limit 1
    ) as lane on true

),

per_order as (

    select
        order_id,
        count(*) filter (where handed_over_at is not null) as parcels_handed_over,
        max(arrived_at) as last_arrived_at,
        bool_and(arrived_at is not null) as all_arrived,
        max(carrier_estimated_delivery_at) as carrier_estimated_delivery_at,
        max(lane_estimated_delivery_at) as lane_estimated_delivery_at,
        max(coalesce(carrier_estimated_delivery_at, lane_estimated_delivery_at))
            as estimated_delivery_at,
        -- what the latest parcel's estimate rests on
        (array_agg(
            case
                when carrier_estimated_delivery_at is not null then 'carrier'
                when lane_estimated_delivery_at is not null then 'lane'
            end
            order by coalesce(carrier_estimated_delivery_at, lane_estimated_delivery_at)
                desc nulls last
        ))[1] as estimate_source,
        (array_agg(lane_level order by lane_estimated_delivery_at desc nulls last))[1]
            as lane_level,
        (array_agg(lane_shipments order by lane_estimated_delivery_at desc nulls last))[1]
            as lane_shipments

    from parcel_estimates
    group by order_id

),

estimates as (

    select
        order_routes.order_id,
        order_routes.delivery_method,
        coalesce(order_routes.canonical_status = 'cancelled', false) as is_cancelled,
        order_routes.created_at + make_interval(days => coalesce(
            promises.promised_days, default_promise.promised_days
        )) as promised_delivery_at,
        case when order_routes.canonical_status is distinct from 'cancelled'
            then per_order.estimated_delivery_at end as estimated_delivery_at,
        case when order_routes.canonical_status is distinct from 'cancelled'
            then per_order.estimate_source end as estimate_source,
        case when per_order.all_arrived and per_order.parcels_handed_over > 0
            then per_order.last_arrived_at end as delivered_at,
        per_order.carrier_estimated_delivery_at,
        per_order.lane_estimated_delivery_at,
        per_order.lane_level,
        per_order.lane_shipments

    from order_routes
    inner join per_order
        on order_routes.order_id = per_order.order_id
    left join promises
        on order_routes.delivery_method = promises.delivery_method
    left join promises as default_promise
        on default_promise.delivery_method = 'default'

),

final as (

    select
        order_id,
        delivery_method,
        promised_delivery_at,
        estimated_delivery_at,
        estimate_source,
        delivered_at,
        -- late: delivered after the promise, or expected after it, or not delivered by it as
        -- the sources stand (macro sources_as_of)
        case
            when is_cancelled then null
            when delivered_at is not null then delivered_at > promised_delivery_at
            else greatest(estimated_delivery_at, clock.as_of) > promised_delivery_at
        end as is_late,
        carrier_estimated_delivery_at,
        lane_estimated_delivery_at,
        lane_level,
        lane_shipments

    from estimates
    cross join clock

)

select * from final
