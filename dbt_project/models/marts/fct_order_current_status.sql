{%- set bookkeeping = {'fingerprint_seeds': []} -%}
{{ per_order_mart(bookkeeping, indexes=[
    {'columns': ['order_id'], 'unique': true},
    {'columns': ['canonical_status', 'updated_at']},
]) }}

-- One row per order - every ERP order, and every order other systems' records reference
-- that the ERP never sent (an orphan, flagged): its status is the one the step of its
-- timeline that decides gives it (fct_order_timeline.decided_status: rolled up from its
-- shipments, its own steps and its payment; README, "How the current status is decided").
-- status_since is when the deciding shipment (or the order's own steps) entered that
-- status. Incremental per order.
{%- set state = incremental_state() %}
{%- set rebuilt = rebuilt_orders_condition(state) %}

with

erp_orders as (

    -- an ERP record's key is its sales order: the same orders by record_key reach the raw
    -- table's index below the versions' window (which is partitioned by record_key)
    select * from {{ ref('stg_erp__sales_orders') }}
    where is_latest_version
        and {{ rebuilt }}
        and {{ rebuilt_orders_condition(state, 'record_key') }}

),

referenced_orders as (

    select distinct order_id
    from {{ ref('fct_order_status_events') }}
    where order_id is not null
        and {{ rebuilt }}

),

orders as (

    select
        coalesce(erp_orders.order_id, referenced_orders.order_id) as order_id,
        erp_orders.order_id is null as is_orphan,
        erp_orders.customer_id,
        erp_orders.store_id,
        erp_orders.region,
        erp_orders.ship_to_country,
        erp_orders.ship_to_region,
        erp_orders.channel,
        erp_orders.total_net_amount,
        erp_orders.currency,
        erp_orders.created_at

    from erp_orders
    full outer join referenced_orders
        on erp_orders.order_id = referenced_orders.order_id

),

fulfillment_orders as (

    select
        order_id,
        delivery_method,
        row_number() over (
            partition by order_id
            order by changed_at desc, extracted_at desc, content_hash desc
        ) as recency

    from {{ ref('stg_crm__fulfillment_orders') }}
    -- the rebuilt orders again (the same set as orders'): their index on the raw versions
    -- (crm_order_index), where the join with orders alone scanned every version
    where order_id in (select order_id from orders)
        and {{ rebuilt }}

),

-- the timeline and the events of the rebuilt orders again (the same set as orders'), by
-- their order_id index: the hot path's generic plan cannot estimate orders' rows and, with
-- the join alone, read every step and every event when the marts had no statistics yet
-- (just built) - ~280 ms a transaction against ~12 (docs/live.md, "The marts per
-- transaction")
-- Only the columns read below: the steps are read four times, so PostgreSQL keeps them
-- once, on disk beyond work_mem (498 MiB of temporary files at 100k orders with every
-- column of the timeline, 278 MiB with these; bench/RESULTS.md, "A million orders").
steps as (

    select
        order_id,
        step_number,
        event_id,
        event_time,
        shipment_id,
        payment_state,
        decides_status,
        decided_status,
        is_terminal,
        starts_status_run,
        is_regression,
        source_system,
        source_field,
        source_code,
        node,
        crosswalk_version

    from {{ ref('fct_order_timeline') }}
    where order_id in (select order_id from orders)
        and {{ rebuilt }}

),

events as (

    select order_id, is_mapped
    from {{ ref('fct_order_status_events') }}
    where order_id in (select order_id from orders)
        and {{ rebuilt }}

),

deciding_steps as (

    select * from steps
    where decides_status

),

status_runs as (

    -- the latest start of a run of the deciding step's status, on its axis, in its
    -- shipment (or among the order's own steps)
    select
        deciding_steps.order_id,
        run_starts.event_id as status_since_event_id,
        run_starts.event_time as status_since,
        row_number() over (
            partition by deciding_steps.order_id
            order by run_starts.step_number desc
        ) as recency

    from deciding_steps
    inner join steps as run_starts
        on deciding_steps.order_id = run_starts.order_id
        and run_starts.starts_status_run
        and run_starts.step_number <= deciding_steps.step_number
        and (run_starts.payment_state is null) = (deciding_steps.payment_state is null)
        and (
            deciding_steps.payment_state is not null
            or run_starts.shipment_id is not distinct from deciding_steps.shipment_id
        )

),

last_payment_steps as (

    select
        order_id,
        payment_state,
        source_code,
        row_number() over (partition by order_id order by step_number desc) as recency

    from steps
    where payment_state is not null

),

event_counts as (

    select
        order_id,
        count(*) as event_count,
        count(*) filter (where not is_mapped) as unmapped_event_count

    from events
    group by order_id

),

step_counts as (

    select
        order_id,
        count(*) filter (where is_regression) as regression_count

    from steps
    group by order_id

),

final as (

    select

        ---------- ids
        orders.order_id,
        orders.is_orphan,
        orders.customer_id,
        orders.store_id,

        ---------- status
        deciding_steps.decided_status as canonical_status,
        deciding_steps.event_time as updated_at,
        status_runs.status_since,
        deciding_steps.is_terminal,
        deciding_steps.source_system as status_source_system,
        deciding_steps.source_field as status_source_field,
        deciding_steps.source_code as status_source_code,
        deciding_steps.node as status_node,
        deciding_steps.shipment_id as status_shipment_id,
        deciding_steps.event_id as status_event_id,
        status_runs.status_since_event_id,
        deciding_steps.crosswalk_version,

        ---------- payment (the last payment code of the web shop, if any)
        last_payment_steps.payment_state,
        last_payment_steps.source_code as payment_source_code,

        ---------- order attributes (latest ERP and CRM versions)
        orders.region,
        orders.ship_to_country,
        orders.ship_to_region,
        orders.channel,
        fulfillment_orders.delivery_method,
        orders.total_net_amount,
        orders.currency,
        orders.created_at,

        ---------- counts
        coalesce(event_counts.event_count, 0) as event_count,
        coalesce(event_counts.unmapped_event_count, 0) as unmapped_event_count,
        coalesce(step_counts.regression_count, 0) as regression_count,

        ---------- build bookkeeping
        {{ bookkeeping_columns(bookkeeping.fingerprint_seeds) }}

    from orders
    left join deciding_steps
        on orders.order_id = deciding_steps.order_id
    left join status_runs
        on orders.order_id = status_runs.order_id
        and status_runs.recency = 1
    left join last_payment_steps
        on orders.order_id = last_payment_steps.order_id
        and last_payment_steps.recency = 1
    left join fulfillment_orders
        on orders.order_id = fulfillment_orders.order_id
        and fulfillment_orders.recency = 1
    left join event_counts
        on orders.order_id = event_counts.order_id
    left join step_counts
        on orders.order_id = step_counts.order_id

)

select * from final
