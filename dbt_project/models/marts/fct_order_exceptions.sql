{%- set bookkeeping = {
    'fingerprint_seeds': ['status_slas', 'sales_channels'], 'per_order': true, 'open_orders': true,
} -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    meta=bookkeeping,
    pre_hook="{{ delete_orders_to_rebuild() }}",
    indexes=[
        {'columns': ['exception_id'], 'unique': true},
        {'columns': ['order_id']},
        {'columns': ['exception_type', 'detected_since']},
        {'columns': ['built_at']},
    ],
) }}

-- Contradictions and gaps that must not be overwritten silently, one row per exception
-- with the systems and events involved, since when, and how severe:
--   unmapped_status_code       an event carries a code the crosswalk lacks (one row per
--                              order and system, field, code)
--   terminal_conflict          different terminal statuses from different systems
--                              (delivered in TMS, cancelled in ERP)
--   regression_after_terminal  a lifecycle step later than a terminal one with a lower
--                              lifecycle rank (one row per terminal step)
--   misroute                   delivered (TMS) in another country, or another region of
--                              the country, than the ERP ship-to
--   shipped_before_payment     shipped while unpaid, in a channel that requires payment
--                              first (seeds/sales_channels.csv)
--   stuck_beyond_sla           in a non-terminal status longer than its SLA for the
--                              order's channel (seeds/status_slas.csv), measured at the
--                              warehouse's data time (the latest event time), or at the
--                              var exceptions_as_of
-- Incremental per order: orders whose events, timeline steps or current status were
-- (re)derived, and every open order (its SLA clock moved); a changed SLA or channel seed
-- rebuilds all.
{%- set state = incremental_state() %}

with

{% if state.mode == 'incremental' -%}
rebuilt_orders as (

    {{ orders_to_rebuild(state) }}

),

{% endif -%}

events as (

    select * from {{ ref('fct_order_status_events') }}
    where order_id is not null
    {%- if state.mode == 'incremental' %}
        and order_id in (select order_id from rebuilt_orders)
    {%- endif %}

),

steps as (

    select * from {{ ref('fct_order_timeline') }}
    {%- if state.mode == 'incremental' %}
    where order_id in (select order_id from rebuilt_orders)
    {%- endif %}

),

orders as (

    select * from {{ ref('fct_order_current_status') }}
    {%- if state.mode == 'incremental' %}
    where order_id in (select order_id from rebuilt_orders)
    {%- endif %}

),

slas as (

    select * from {{ ref('status_slas') }}

),

channels as (

    select * from {{ ref('sales_channels') }}

),

clock as (

    select
        {%- if var('exceptions_as_of', none) %}
        cast('{{ var("exceptions_as_of") }}' as timestamptz) as as_of
        {%- else %}
        (select max(event_time) from {{ ref('fct_order_status_events') }}) as as_of
        {%- endif %}

),

lifecycle_steps as (

    select * from steps
    where payment_state is null

),

-- each involvement: (exception, event) with the time the exception became visible

unmapped_involvements as (

    select
        'unmapped_status_code' as exception_type,
        'error' as severity,
        order_id,
        concat_ws('|', source_system, source_field, source_code) as exception_key,
        event_id,
        event_time as detected_at,
        jsonb_build_object(
            'source_system', source_system,
            'source_field', source_field,
            'source_code', source_code
        ) as extra

    from events
    where not is_mapped

),

terminal_pairs as (

    select
        first_step.order_id,
        first_step.event_id as first_event_id,
        second_step.event_id as second_event_id,
        greatest(first_step.event_time, second_step.event_time) as conflict_time

    from lifecycle_steps as first_step
    inner join lifecycle_steps as second_step
        on first_step.order_id = second_step.order_id
        and first_step.is_terminal
        and second_step.is_terminal
        and first_step.source_system <> second_step.source_system
        and first_step.canonical_status < second_step.canonical_status

),

terminal_conflict_involvements as (

    select
        'terminal_conflict' as exception_type,
        'error' as severity,
        terminal_pairs.order_id,
        '' as exception_key,
        pair_events.event_id,
        terminal_pairs.conflict_time as detected_at,
        cast(null as jsonb) as extra

    from terminal_pairs
    cross join lateral (
        values (terminal_pairs.first_event_id), (terminal_pairs.second_event_id)
    ) as pair_events (event_id)

),

regressions as (

    select
        terminal_steps.order_id,
        terminal_steps.event_id as terminal_event_id,
        later_steps.event_id as later_event_id,
        later_steps.event_time as later_event_time

    from lifecycle_steps as terminal_steps
    inner join lifecycle_steps as later_steps
        on terminal_steps.order_id = later_steps.order_id
        and terminal_steps.is_terminal
        and later_steps.is_regression
        and later_steps.event_time > terminal_steps.event_time
        and later_steps.lifecycle_rank < terminal_steps.lifecycle_rank

),

regression_involvements as (

    select
        'regression_after_terminal' as exception_type,
        'warning' as severity,
        order_id,
        terminal_event_id as exception_key,
        terminal_event_id as event_id,
        cast(null as timestamptz) as detected_at,
        cast(null as jsonb) as extra

    from regressions

    union all

    select
        'regression_after_terminal' as exception_type,
        'warning' as severity,
        order_id,
        terminal_event_id as exception_key,
        later_event_id as event_id,
        later_event_time as detected_at,
        cast(null as jsonb) as extra

    from regressions

),

misroute_involvements as (

    select
        'misroute' as exception_type,
        'error' as severity,
        events.order_id,
        events.event_id as exception_key,
        events.event_id,
        events.event_time as detected_at,
        jsonb_build_object(
            'ship_to_country', orders.ship_to_country,
            'ship_to_region', orders.ship_to_region,
            'delivered_in_country', events.node_country,
            'delivered_in_region', events.node_region,
            'delivered_in_city', events.node
        ) as extra

    from events
    inner join orders
        on events.order_id = orders.order_id
    where events.is_mapped
        and events.source_system = 'tms'
        and events.canonical_status = 'delivered'
        and events.node_country is not null
        and orders.ship_to_country is not null
        and (
            upper(events.node_country) <> upper(orders.ship_to_country)
            or (
                nullif(events.node_region, '') is not null
                and nullif(orders.ship_to_region, '') is not null
                and upper(events.node_region) <> upper(orders.ship_to_region)
            )
        )

),

first_shipments as (

    -- the first lifecycle step that says the goods left the warehouse
    select
        order_id,
        event_id,
        event_time,
        row_number() over (partition by order_id order by step_number) as nth

    from lifecycle_steps
    where canonical_status in (
        'partially_fulfilled', 'in_transit', 'pickup_available', 'delivered', 'returned'
    )

),

payment_at_shipment as (

    -- the payment state when the goods left: the last payment code at or before the
    -- shipment, else (a snapshot seen only later) the first one after it
    select
        first_shipments.order_id,
        first_shipments.event_id as shipment_event_id,
        first_shipments.event_time as shipped_at,
        payment_steps.event_id as payment_event_id,
        payment_steps.payment_state,
        payment_steps.source_code as payment_code,
        row_number() over (
            partition by first_shipments.order_id
            order by
                payment_steps.event_time > first_shipments.event_time,
                case
                    when payment_steps.event_time <= first_shipments.event_time
                        then payment_steps.step_number
                end desc,
                payment_steps.step_number asc
        ) as nth

    from first_shipments
    inner join steps as payment_steps
        on first_shipments.order_id = payment_steps.order_id
        and payment_steps.payment_state is not null
    where first_shipments.nth = 1

),

unpaid_shipments as (

    select
        payment_at_shipment.*,
        orders.channel

    from payment_at_shipment
    inner join orders
        on payment_at_shipment.order_id = orders.order_id
    inner join channels
        on orders.channel = channels.channel
    where payment_at_shipment.nth = 1
        and channels.payment_required_before_shipping
        and payment_at_shipment.payment_state in ('unpaid', 'voided')

),

unpaid_shipment_involvements as (

    select
        'shipped_before_payment' as exception_type,
        'error' as severity,
        unpaid_shipments.order_id,
        '' as exception_key,
        involved.event_id,
        unpaid_shipments.shipped_at as detected_at,
        jsonb_build_object(
            'channel', unpaid_shipments.channel,
            'payment_state', unpaid_shipments.payment_state,
            'payment_code', unpaid_shipments.payment_code
        ) as extra

    from unpaid_shipments
    cross join lateral (
        values (unpaid_shipments.shipment_event_id), (unpaid_shipments.payment_event_id)
    ) as involved (event_id)

),

stuck_orders as (

    select
        orders.order_id,
        orders.canonical_status,
        orders.channel,
        orders.status_since,
        orders.status_event_id,
        orders.status_since_event_id,
        slas.sla_hours,
        slas.severity,
        clock.as_of,
        orders.status_since + slas.sla_hours * interval '1 hour' as breached_at

    from orders
    cross join clock
    inner join slas
        on orders.canonical_status = slas.canonical_status
        and orders.channel = slas.channel
    where not coalesce(orders.is_terminal, false)
        and orders.status_since is not null
        and clock.as_of - orders.status_since > slas.sla_hours * interval '1 hour'

),

stuck_involvements as (

    select
        'stuck_beyond_sla' as exception_type,
        stuck_orders.severity,
        stuck_orders.order_id,
        stuck_orders.status_since_event_id as exception_key,
        involved.event_id,
        stuck_orders.breached_at as detected_at,
        jsonb_build_object(
            'canonical_status', stuck_orders.canonical_status,
            'channel', stuck_orders.channel,
            'sla_hours', stuck_orders.sla_hours,
            'status_since', {{ iso_utc('stuck_orders.status_since') }},
            'as_of', {{ iso_utc('stuck_orders.as_of') }},
            'hours_in_status', round(
                cast(extract(epoch from stuck_orders.as_of - stuck_orders.status_since) / 3600 as numeric), 1
            )
        ) as extra

    from stuck_orders
    cross join lateral (
        values (stuck_orders.status_since_event_id), (stuck_orders.status_event_id)
    ) as involved (event_id)

),

involvements as (

    select * from unmapped_involvements
    union all
    select * from terminal_conflict_involvements
    union all
    select * from regression_involvements
    union all
    select * from misroute_involvements
    union all
    select * from unpaid_shipment_involvements
    union all
    select * from stuck_involvements

),

distinct_involvements as (

    select
        exception_type,
        severity,
        order_id,
        exception_key,
        event_id,
        min(detected_at) as detected_at,
        (array_agg(extra) filter (where extra is not null))[1] as extra

    from involvements
    group by exception_type, severity, order_id, exception_key, event_id

),

involved_events as (

    select
        distinct_involvements.*,
        events.source_system,
        events.event_time,
        jsonb_build_object(
            'event_id', events.event_id,
            'source_system', events.source_system,
            'source_field', events.source_field,
            'source_code', events.source_code,
            'canonical_status', events.canonical_status,
            'event_time', {{ iso_utc('events.event_time') }},
            'node', events.node
        ) as event_details

    from distinct_involvements
    inner join events
        on distinct_involvements.event_id = events.event_id

),

final as (

    select
        md5(concat_ws(
            '|', exception_type, coalesce(order_id, ''), exception_key
        )) as exception_id,
        order_id,
        exception_type,
        severity,
        array_agg(distinct source_system order by source_system) as systems,
        array_agg(event_id order by event_time, event_id) as event_ids,
        min(detected_at) as detected_since,
        coalesce((array_agg(extra) filter (where extra is not null))[1], '{}'::jsonb)
        || jsonb_build_object(
            'events', jsonb_agg(event_details order by event_time, event_id)
        ) as details,
        {{ build_stamp() }} as built_at,
        {{ inputs_fingerprint(bookkeeping.fingerprint_seeds) }} as inputs_version

    from involved_events
    group by exception_type, severity, order_id, exception_key

)

select * from final
