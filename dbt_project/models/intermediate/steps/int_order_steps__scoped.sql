-- Each canonical (mapped) event of an order with the shipment it belongs to and the way
-- that shipment travels. A warehouse delivery (its pickings: procurement group, else
-- sales order) is a shipment; a tracker belongs to the delivery that names its tracking
-- code (Odoo's carrier_tracking_ref), or to the order's only delivery when that is the
-- order's only tracker and the delivery names none; a tracker no delivery claims is a
-- shipment of its own - a return when the carrier delivered it to a company warehouse
-- that receives returns (seeds/locations), or when every delivery of the order names
-- another tracker. ERP and CRM events are the order's own (no shipment).
-- Only window functions partitioned by order (no group joined back): the per-order marts'
-- literal order filter is pushed through every one of them to the events mart's index.
-- Texts are compared bytewise and cased in ASCII (collation "C") on any server, as the
-- audit's verifier does (ledger/bundle/rollup.py).
with

events as (

    select * from {{ ref('fct_order_status_events') }}
    where is_mapped
        and order_id is not null

),

return_nodes as not materialized (

    select * from {{ ref('locations') }}
    where receives_returns

),

located as (

    -- each event, whether it happened at a company warehouse that receives returns (same
    -- country, and the same postal code, or city when the carrier sends none)
    select
        events.*,
        -- (uncorrelated: PostgreSQL hashes the few return nodes once, where a correlated
        -- exists scanned the seed again for every event; a null never matches, as before)
        coalesce(
            (upper(events.node_country collate "C"), upper(events.node_postal_code collate "C"))
                in (
                    select upper(country collate "C"), upper(postal_code collate "C")
                    from return_nodes
                ),
            false
        )
        or (
            events.node_postal_code is null
            and coalesce(
                (upper(events.node_country collate "C"), upper(events.node collate "C"))
                    in (select upper(country collate "C"), upper(city collate "C") from return_nodes),
                false
            )
        ) as at_return_node

    from events

),

shipment_refs as (

    -- per event of a delivery (WMS) or tracker (TMS): whether it is the first event of its
    -- record's shipment reference, the tracking code its record names, and whether a
    -- tracker was delivered to a return node (one window: row_number ignores the frame, the
    -- aggregates over the whole reference do not depend on its order)
    select
        *,
        row_number() over by_ref = 1 as opens_shipment_ref,
        max(tracking_code collate "C") over by_ref as ref_tracking_code,
        bool_or(
            canonical_status = 'delivered' and at_return_node and not is_clock_skewed
        ) over by_ref as delivered_to_return_node

    from located
    window by_ref as (
        partition by order_id, source_system, shipment_ref
        order by event_id
        rows between unbounded preceding and unbounded following
    )

),

codes as (

    select
        *,
        case when ref_tracking_code is not null then min(
            case when source_system = 'wms' then shipment_ref end collate "C"
        ) over by_code end as named_by_delivery,
        case when ref_tracking_code is not null then bool_or(
            source_system = 'tms'
        ) over by_code end as code_of_a_tracker

    from shipment_refs
    window by_code as (partition by order_id, ref_tracking_code)

),

order_shapes as (

    select
        *,
        count(*) filter (where opens_shipment_ref and source_system = 'wms') over by_order
            as deliveries,
        count(*) filter (
            where opens_shipment_ref and source_system = 'wms' and ref_tracking_code is null
        ) over by_order as unnamed_deliveries,
        count(*) filter (
            where opens_shipment_ref and source_system = 'wms' and code_of_a_tracker
        ) over by_order as named_deliveries,
        count(*) filter (where opens_shipment_ref and source_system = 'tms') over by_order
            as trackers,
        min(shipment_ref collate "C") filter (where source_system = 'wms') over by_order
            as first_delivery

    from codes
    window by_order as (partition by order_id)

),

linked as (

    select
        *,
        case
            when source_system <> 'tms' then null
            when named_by_delivery is not null then named_by_delivery
            when deliveries = 1 and unnamed_deliveries = 1 and trackers = 1 then first_delivery
        end as carried_delivery

    from order_shapes

),

shipments as (

    select
        *,
        case
            when source_system = 'wms' then 'wms:' || shipment_ref
            when source_system = 'tms'
                then coalesce('wms:' || carried_delivery, 'tms:' || shipment_ref)
        end as shipment_id,
        case
            when source_system = 'wms' then 'outbound'
            when source_system <> 'tms' then null
            when carried_delivery is not null then 'outbound'
            when delivered_to_return_node then 'return'
            when deliveries > 0 and named_deliveries = deliveries then 'return'
            else 'outbound'
        end as shipment_direction

    from linked

),

final as (

    select
        {{- select_list(order_step_columns('scoped')) }}

    from shipments

)

select * from final
