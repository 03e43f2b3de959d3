-- Exception rule misroute (error): the carrier delivered an outbound parcel of the order in
-- another country, or in another region of the same country, than the ERP ship-to (a
-- region counts only when both name one). A return delivered to a company warehouse is no
-- misroute; a clock-skewed delivery counts for nothing. One exception per delivery event;
-- it holds from the delivery.
with

deliveries as (

    select * from {{ ref('fct_order_timeline') }}
    where source_system = 'tms'
        and canonical_status = 'delivered'
        and shipment_direction = 'outbound'
        and not is_clock_skewed
        and node_country is not null

),

orders as (

    select * from {{ ref('fct_order_current_status') }}
    where ship_to_country is not null

),

final as (

    select
        'misroute' as exception_type,
        'error' as severity,
        deliveries.order_id,
        deliveries.event_id as exception_key,
        deliveries.event_id,
        deliveries.event_time as detected_at,
        jsonb_build_object(
            'ship_to_country', orders.ship_to_country,
            'ship_to_region', orders.ship_to_region,
            'delivered_in_country', deliveries.node_country,
            'delivered_in_region', deliveries.node_region,
            'delivered_in_city', deliveries.node
        ) as extra

    from deliveries
    inner join orders
        on deliveries.order_id = orders.order_id
    where upper(deliveries.node_country) <> upper(orders.ship_to_country)
        or (
            nullif(deliveries.node_region, '') is not null
            and nullif(orders.ship_to_region, '') is not null
            and upper(deliveries.node_region) <> upper(orders.ship_to_region)
        )

)

select * from final
