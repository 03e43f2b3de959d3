{%- set bookkeeping = {'fingerprint_seeds': ['partners']} -%}
{{ per_order_mart(bookkeeping, indexes=[
    {'columns': ['order_id', 'shipment_id'], 'unique': true},
    {'columns': ['partner_id']},
]) }}

-- the events mart the rebuilt orders are read from (macro orders_to_rebuild)
-- depends_on: {{ ref('fct_order_status_events') }}

-- One row per shipment of an order - a warehouse delivery with the tracker carrying its
-- parcel, or a tracker no delivery claims (a return, a carrier's own shipment) - with its
-- status now (the step of its timeline that decides it, fct_order_timeline; a return
-- delivered to a company warehouse is returned), its direction and the partner handling
-- it: the carrier once a tracker carries it, else the 3PL operating the warehouse shipping
-- it (seeds/partners), else that warehouse. A shipment is routed to its carrier and to its
-- warehouse's operator: a partner's API access is filtered on both (README, "The API").
-- When it left (handed to the carrier) and arrived, and the carrier's own estimate of the
-- delivery, are what fct_delivery_estimates reads. Incremental per order.
{%- set state = incremental_state() %}

with

steps as (

    select * from {{ ref('fct_order_timeline') }}
    where shipment_id is not null
        and {{ rebuilt_orders_condition(state) }}

),

shipments as (

    select
        order_id,
        shipment_id,
        min(shipment_direction) as direction,
        max(carrier) filter (where source_system = 'tms') as carrier,
        max(source_record_key) filter (where source_system = 'tms') as tracker_id,
        max(tracking_code) filter (where source_system = 'tms') as tracking_code,
        max(node) filter (where source_system = 'wms') as warehouse,
        min(event_time) filter (
            where canonical_status = 'in_transit' and is_clock_skewed is not true
        ) as handed_over_at,
        min(event_time) filter (
            where canonical_status in ('delivered', 'pickup_available')
                and is_clock_skewed is not true
        ) as arrived_at,
        count(*) as step_count

    from steps
    group by order_id, shipment_id

),

operators as (

    select partner_id, warehouse from {{ ref('partners') }}
    where partner_type = '3pl'

),

tracker_versions as (

    -- the carrier's estimate in the tracker's latest version
    select
        tracker_id,
        est_delivery_at,
        row_number() over (
            partition by tracker_id
            order by updated_at desc, extracted_at desc, content_hash desc
        ) as recency

    from {{ ref('stg_tms__trackers') }}
    -- an array, not a semi-join: the raw trackers are read through their record_key index
    -- (a semi-join reads and unpacks every tracker version)
    where record_key = any(array(select tracker_id from shipments))

),

deciding_steps as (

    select * from steps
    where decides_shipment_status

),

status_runs as (

    -- the latest start of a run of the deciding step's status in the shipment
    select
        deciding_steps.order_id,
        deciding_steps.shipment_id,
        run_starts.event_time as status_since,
        row_number() over (
            partition by deciding_steps.order_id, deciding_steps.shipment_id
            order by run_starts.step_number desc
        ) as recency

    from deciding_steps
    inner join steps as run_starts
        on deciding_steps.order_id = run_starts.order_id
        and deciding_steps.shipment_id = run_starts.shipment_id
        and run_starts.starts_status_run
        and run_starts.payment_state is null
        and run_starts.step_number <= deciding_steps.step_number

),

final as (

    select

        ---------- ids
        shipments.shipment_id,
        shipments.order_id,
        shipments.tracker_id,
        shipments.tracking_code,

        ---------- status
        deciding_steps.shipment_status as canonical_status,
        deciding_steps.is_terminal,
        deciding_steps.event_time as updated_at,
        status_runs.status_since,
        deciding_steps.source_system as status_source_system,
        deciding_steps.source_code as status_source_code,
        deciding_steps.node as status_node,
        deciding_steps.event_id as status_event_id,

        ---------- who handles it
        shipments.direction,
        shipments.carrier,
        shipments.warehouse,
        operators.partner_id as warehouse_operator,
        coalesce(shipments.carrier, operators.partner_id, shipments.warehouse) as partner_id,
        shipments.step_count,

        ---------- when it left and arrived, and when the carrier expects it
        shipments.handed_over_at,
        shipments.arrived_at,
        tracker_versions.est_delivery_at as carrier_estimated_delivery_at,

        ---------- build bookkeeping
        {{ bookkeeping_columns(bookkeeping.fingerprint_seeds) }}

    from shipments
    left join deciding_steps
        on shipments.order_id = deciding_steps.order_id
        and shipments.shipment_id = deciding_steps.shipment_id
    left join status_runs
        on shipments.order_id = status_runs.order_id
        and shipments.shipment_id = status_runs.shipment_id
        and status_runs.recency = 1
    left join operators
        on shipments.warehouse = operators.warehouse
    left join tracker_versions
        on shipments.tracker_id = tracker_versions.tracker_id
        and tracker_versions.recency = 1

)

select * from final
