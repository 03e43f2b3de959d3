{%- set bookkeeping = {
    'fingerprint_seeds': ['status_slas', 'sales_channels'], 'open_orders': true,
} -%}
{{ per_order_mart(bookkeeping, indexes=[
    {'columns': ['exception_id'], 'unique': true},
    {'columns': ['order_id']},
    {'columns': ['exception_type', 'detected_since']},
]) }}

-- the per-order marts the rules read: an order rebuilt there is rebuilt here
-- depends_on: {{ ref('fct_order_timeline') }}
-- depends_on: {{ ref('fct_order_current_status') }}

-- Contradictions and gaps that must not be overwritten silently, one row per exception
-- with the systems and events involved, since when, and how severe. Each rule is its own
-- ephemeral model, int_order_exceptions__<rule> (models/intermediate/exceptions), one
-- row per event an exception involves; this mart unions them and makes one row per
-- exception. Incremental per order: orders whose events, timeline steps or current
-- status were (re)derived, and every open order (its SLA clock moved); the rule models
-- are compiled into this one, so a changed rule, SLA or channel seed rebuilds all.
{%- set rules = [
    'unmapped_status_code',
    'terminal_conflict',
    'regression_after_terminal',
    'misroute',
    'shipped_before_payment',
    'stuck_beyond_sla',
    'status_conflict',
    'clock_skew',
    'orphan_record',
    'record_reassigned',
] %}
{#- what every rule model returns: one row per event an exception involves #}
{%- set involvement_columns = [
    'exception_type', 'severity', 'order_id', 'exception_key', 'event_id', 'detected_at', 'extra',
] %}
{%- set state = incremental_state() %}
{%- set rebuilt = rebuilt_orders_condition(state) %}

with

involvements as (
    {%- for rule in rules %}

    select
        {{- select_list(involvement_columns) }}

    from {{ ref('int_order_exceptions__' ~ rule) }}
    where {{ rebuilt }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

events as (

    -- joined by event id: an exception of one order may name events now on another (the
    -- record it lost, record_reassigned)
    select * from {{ ref('fct_order_status_events') }}

),

distinct_involvements as (

    -- an event involved twice in one exception (in two conflicting pairs) counts once,
    -- from the earliest time it showed the exception
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
        {{ bookkeeping_columns(bookkeeping.fingerprint_seeds) }}

    from involved_events
    group by exception_type, severity, order_id, exception_key

)

select * from final
