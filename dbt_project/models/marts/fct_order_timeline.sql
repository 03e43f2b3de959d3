{%- set bookkeeping = {'fingerprint_seeds': ['locations']} -%}
{{ per_order_mart(bookkeeping, indexes=[
    {'columns': ['order_id', 'step_number'], 'unique': true},
    {'columns': ['event_id'], 'unique': true},
]) }}

-- Every canonical (mapped) event of an order in the order it happened, with the node
-- where it happened, and which step decides the order's current status:
--   * steps are ordered by event time; at equal time in the reverse of the tie-break
--     (status precedence, then lifecycle rank), so of the steps that may decide, the
--     last one wins;
--   * a regression - a lifecycle step later than a terminal one with a lower lifecycle
--     rank (delivered, then in_transit) - is shown and flagged, but never decides;
--   * payment codes (payment_state set) never decide the lifecycle status; while the
--     lifecycle says placed and the last payment code says unpaid, the order is
--     payment_due and that payment step decides.
-- Incremental per order: the orders whose events were (re)derived since the last run.
{%- set state = incremental_state() %}

with

events as (

    select * from {{ ref('fct_order_status_events') }}
    where is_mapped
        and order_id is not null
        and {{ rebuilt_orders_condition(state) }}

),

locations as (

    select * from {{ ref('locations') }}

),

-- the highest lifecycle rank of a terminal lifecycle step strictly before each event
-- (a window, not a correlated subquery: linear in the events of an order)
ranked as (

    select
        events.*,
        max(case when payment_state is null and is_terminal then lifecycle_rank end) over (
            partition by order_id
            order by event_time
            range between unbounded preceding and current row exclude group
        ) as earlier_terminal_rank

    from events

),

flagged as (

    select
        ranked.*,
        payment_state is null as is_lifecycle_step,
        coalesce(
            payment_state is null
            and not is_terminal
            and earlier_terminal_rank > lifecycle_rank,
            false
        ) as is_regression

    from ranked

),

stepped as (

    select
        *,
        row_number() over (
            partition by order_id
            order by
                event_time asc,
                status_precedence desc,
                lifecycle_rank asc,
                source_field desc,
                event_id desc
        ) as step_number,
        count(*) over (partition by order_id) as step_count,
        -- the step that starts a run of one status on its axis (lifecycle steps that may
        -- decide, or payment steps): the order is in the status "since" the last such start
        case
            when is_lifecycle_step and is_regression then false
            when is_lifecycle_step then canonical_status is distinct from lag(canonical_status) over (
                partition by order_id, is_lifecycle_step, is_regression
                order by event_time, status_precedence desc, lifecycle_rank, source_field desc, event_id desc
            )
            else payment_state is distinct from lag(payment_state) over (
                partition by order_id, is_lifecycle_step
                order by event_time, status_precedence desc, lifecycle_rank, source_field desc, event_id desc
            )
        end as starts_status_run

    from flagged

),

last_lifecycle_steps as (

    select
        order_id,
        event_id,
        canonical_status,
        row_number() over (partition by order_id order by step_number desc) as recency

    from stepped
    where is_lifecycle_step and not is_regression

),

last_payment_steps as (

    select
        order_id,
        event_id,
        payment_state,
        row_number() over (partition by order_id order by step_number desc) as recency

    from stepped
    where not is_lifecycle_step

),

deciding_steps as (

    select
        coalesce(last_lifecycle_steps.order_id, last_payment_steps.order_id) as order_id,
        case
            when last_payment_steps.payment_state = 'unpaid'
                and coalesce(last_lifecycle_steps.canonical_status, 'placed') = 'placed'
                then last_payment_steps.event_id
            else last_lifecycle_steps.event_id
        end as event_id

    from (select * from last_lifecycle_steps where recency = 1) as last_lifecycle_steps
    full outer join (select * from last_payment_steps where recency = 1) as last_payment_steps
        on last_lifecycle_steps.order_id = last_payment_steps.order_id

),

final as (

    select

        ---------- ids
        stepped.order_id,
        stepped.step_number,
        stepped.event_id,

        ---------- the step's role
        stepped.step_number = stepped.step_count as is_last_step,
        deciding_steps.event_id is not null as decides_status,
        stepped.is_regression,
        stepped.starts_status_run,

        ---------- what happened
        stepped.event_time,
        stepped.canonical_status,
        stepped.cbv_biz_step,
        stepped.cbv_disposition,
        stepped.lifecycle_rank,
        stepped.is_terminal,
        stepped.payment_state,
        stepped.status_precedence,
        stepped.event_message,

        ---------- where (stores and warehouses from the locations seed, carrier
        ---------- locations as the carrier reports them)
        stepped.node,
        stepped.node_type,
        locations.node_name,
        coalesce(locations.city, case when stepped.node_type like 'carrier%' then stepped.node end) as node_city,
        coalesce(locations.region, stepped.node_region) as node_region,
        coalesce(locations.country, stepped.node_country) as node_country,

        ---------- which system said so
        stepped.source_system,
        stepped.source_field,
        stepped.source_code,
        stepped.crosswalk_version,

        ---------- build bookkeeping
        {{ bookkeeping_columns(bookkeeping.fingerprint_seeds) }}

    from stepped
    left join deciding_steps
        on stepped.event_id = deciding_steps.event_id
    left join locations
        on stepped.node_type = locations.node_type
        and stepped.node = locations.node_code

)

select * from final
