{%- set bookkeeping = {'fingerprint_seeds': []} -%}
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
-- it: the carrier once a tracker carries it, else the warehouse (3PL) shipping it.
-- Incremental per order.
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
        count(*) as step_count

    from steps
    group by order_id, shipment_id

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
        coalesce(shipments.carrier, shipments.warehouse) as partner_id,
        shipments.step_count,

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

)

select * from final
