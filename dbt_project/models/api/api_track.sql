{{ config(materialized='api_function', alias='track', owner=var('api_tracker_role')) }}
-- POST or GET /rpc/track?order_id=...&tracking_token=...: one order, for whoever holds its
-- tracking token (orderhub.tracking) - the lookup a customer's tracking page makes: its
-- journey (its first step, then where the goods moved - warehouse operations and carrier
-- scans, never the systems' paperwork; skewed clocks left out, a repeat of the step before
-- shown once), its parcels, the delivery promised and expected (fct_delivery_estimates)
-- and the open exceptions a customer is told about (seeds/exception_notices). It runs
-- as the tracker role (security definer, search_path pinned), which reads the marts below;
-- a caller needs nothing but the right to call it. A wrong token and an unknown order get
-- the same 404, after the same work; tokens are compared as digests, so the time a
-- comparison takes tells nothing about a guess. Nothing can be listed.
(order_id text, tracking_token text)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    expected text := api_private.tracking_token(track.order_id);
    found jsonb;
begin
    if expected is not null and track.tracking_token is not null
        and sha256(convert_to(expected, 'UTF8'))
            = sha256(convert_to(lower(btrim(track.tracking_token)), 'UTF8')) then
        select jsonb_build_object(
            'order_id', orders.order_id,
            'status', orders.canonical_status,
            'status_since', orders.status_since,
            'is_terminal', coalesce(orders.is_terminal, false),
            'delivery_method', orders.delivery_method,
            'ship_to_country', orders.ship_to_country,
            'promised_delivery_at', deliveries.promised_delivery_at,
            'estimated_delivery_at', deliveries.estimated_delivery_at,
            'estimate_source', deliveries.estimate_source,
            'delivered_at', deliveries.delivered_at,
            'is_late', deliveries.is_late,
            'warnings', coalesce((
                select jsonb_agg(jsonb_build_object(
                    'type', warnings.exception_type,
                    'since', warnings.since,
                    'message', jsonb_build_object(
                        'en', warnings.notice_en, 'zh-Hans', warnings.notice_zh_hans
                    )
                ) order by warnings.since, warnings.exception_type)
                from (
                    select
                        exceptions.exception_type,
                        min(exceptions.detected_since) as since,
                        min(notices.notice_en) as notice_en,
                        min(notices.notice_zh_hans) as notice_zh_hans
                    from {{ ref('fct_order_exceptions') }} as exceptions
                    inner join {{ ref('exception_notices') }} as notices
                        on exceptions.exception_type = notices.exception_type
                    where exceptions.order_id = track.order_id
                    group by exceptions.exception_type
                ) as warnings
            ), '[]'::jsonb),
            'parcels', coalesce((
                select jsonb_agg(jsonb_build_object(
                    'shipment_id', parcels.shipment_id,
                    'direction', parcels.direction,
                    'status', parcels.canonical_status,
                    'carrier', parcels.carrier,
                    'tracking_code', parcels.tracking_code,
                    'arrived_at', parcels.arrived_at,
                    'carrier_estimated_delivery_at', parcels.carrier_estimated_delivery_at
                ) order by parcels.handed_over_at nulls last, parcels.shipment_id)
                from {{ ref('fct_shipment_current_status') }} as parcels
                where parcels.order_id = track.order_id
            ), '[]'::jsonb),
            'carbon', (
                select jsonb_build_object(
                    'wtw_kg_co2e', emissions.wtw_kg_co2e,
                    'low_carbon_option', emissions.low_carbon_option,
                    'low_carbon_wtw_kg_co2e', emissions.low_carbon_wtw_kg_co2e,
                    'low_carbon_saving_kg_co2e', emissions.low_carbon_saving_kg_co2e,
                    'factor_version', emissions.factor_version
                )
                from {{ source('fulfilment', 'order_emissions') }} as emissions
                where emissions.order_id = track.order_id
            ),
            'steps', coalesce((
                select jsonb_agg(jsonb_build_object(
                    'at', steps.event_time,
                    'status', steps.canonical_status,
                    'message', steps.event_message,
                    'node', steps.node,
                    'node_type', steps.node_type,
                    'place', steps.node_name,
                    'city', steps.node_city,
                    'region', steps.node_region,
                    'country', steps.node_country,
                    'shipment_id', steps.shipment_id,
                    'carrier', steps.carrier,
                    'is_regression', steps.is_regression
                ) order by steps.step_number)
                from (
                    -- what a customer sees as one step: several systems saying the same
                    -- at the same node (the ERP's fields, order management) are one
                    select
                        *,
                        concat_ws('|', canonical_status, node, shipment_id, event_message)
                            is not distinct from lag(
                                concat_ws('|', canonical_status, node, shipment_id, event_message)
                            ) over (order by step_number) as repeats
                    from {{ ref('fct_order_timeline') }}
                    where order_id = track.order_id
                        and is_clock_skewed is not true
                        and (event_class = 'physical_movement' or step_number = 1)
                ) as steps
                where not steps.repeats
            ), '[]'::jsonb)
        )
        into found
        from {{ ref('fct_order_current_status') }} as orders
        left join {{ ref('fct_delivery_estimates') }} as deliveries
            on orders.order_id = deliveries.order_id
        where orders.order_id = track.order_id;
    end if;
    if found is null then
        raise sqlstate 'PGRST' using
            message = '{"code":"OH404","message":"No order with this number and tracking token.","details":null,"hint":"Both are on the order confirmation."}',
            detail = '{"status":404,"headers":{}}';
    end if;
    return found;
end
$$
