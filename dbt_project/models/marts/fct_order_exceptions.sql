{{ config(indexes=[
    {'columns': ['exception_id'], 'unique': true},
    {'columns': ['order_id']},
    {'columns': ['exception_type', 'detected_since']},
]) }}

-- Contradictions and gaps that must not be overwritten silently, one row per
-- exception with the events involved:
--   unmapped_status_code       an order's events carry a code the crosswalk lacks (one
--                              row per order and system, field, code)
--   terminal_conflict          two different terminal statuses from different systems
--                              (delivered in TMS, cancelled in ERP)
--   regression_after_terminal  a mapped event later than a terminal one, with a lower
--                              lifecycle rank (one row per terminal event)
--   delivery_country_mismatch  delivered (TMS) in another country than the ERP ship-to
with

events as (

    select * from {{ ref('fct_order_status_events') }}

),

orders as (

    select * from {{ ref('stg_erp__sales_orders') }}
    where is_latest_version

),

terminal_events as (

    select * from events
    where is_mapped and is_terminal

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
        first_event.order_id,
        first_event.event_id as first_event_id,
        second_event.event_id as second_event_id,
        greatest(first_event.event_time, second_event.event_time) as conflict_time

    from terminal_events as first_event
    inner join terminal_events as second_event
        on first_event.order_id = second_event.order_id
        and first_event.source_system <> second_event.source_system
        and first_event.canonical_status < second_event.canonical_status

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
        terminal_events.order_id,
        terminal_events.event_id as terminal_event_id,
        later_events.event_id as later_event_id,
        later_events.event_time as later_event_time

    from terminal_events
    inner join events as later_events
        on terminal_events.order_id = later_events.order_id
        and later_events.is_mapped
        and later_events.event_time > terminal_events.event_time
        and later_events.lifecycle_rank < terminal_events.lifecycle_rank

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

country_mismatch_involvements as (

    select
        'delivery_country_mismatch' as exception_type,
        'warning' as severity,
        events.order_id,
        events.event_id as exception_key,
        events.event_id,
        events.event_time as detected_at,
        jsonb_build_object(
            'ship_to_country', orders.ship_to_country,
            'delivered_in_country', events.node_country
        ) as extra

    from events
    inner join orders
        on events.order_id = orders.order_id
    where events.is_mapped
        and events.source_system = 'tms'
        and events.canonical_status = 'delivered'
        and events.node_country is not null
        and orders.ship_to_country is not null
        and upper(events.node_country) <> upper(orders.ship_to_country)

),

involvements as (

    select * from unmapped_involvements
    union all
    select * from terminal_conflict_involvements
    union all
    select * from regression_involvements
    union all
    select * from country_mismatch_involvements

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
        ) as details

    from involved_events
    group by exception_type, severity, order_id, exception_key

)

select * from final
