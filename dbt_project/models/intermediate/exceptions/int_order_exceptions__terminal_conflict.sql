-- Exception rule terminal_conflict (error): two terminal lifecycle steps of one order from
-- different systems say different things (delivered in the TMS, cancelled in the ERP); a
-- clock-skewed step counts for nothing.
-- One exception per order, with the events of every such pair; it holds from the later
-- step of the earliest pair.
with

terminal_steps as not materialized (

    -- read twice below: not materialized, so that an order filter on the result reaches
    -- the timeline's order_id index through both reads
    select * from {{ ref('fct_order_timeline') }}
    where is_terminal
        and payment_state is null
        and not is_clock_skewed

),

conflicting_pairs as (

    select
        first_steps.order_id,
        first_steps.event_id as first_event_id,
        second_steps.event_id as second_event_id,
        greatest(first_steps.event_time, second_steps.event_time) as conflict_time

    from terminal_steps as first_steps
    inner join terminal_steps as second_steps
        on first_steps.order_id = second_steps.order_id
        and first_steps.source_system <> second_steps.source_system
        and first_steps.canonical_status < second_steps.canonical_status

),

final as (

    select
        'terminal_conflict' as exception_type,
        'error' as severity,
        conflicting_pairs.order_id,
        '' as exception_key,
        pair_events.event_id,
        conflicting_pairs.conflict_time as detected_at,
        cast(null as jsonb) as extra

    from conflicting_pairs
    cross join lateral (
        values (conflicting_pairs.first_event_id), (conflicting_pairs.second_event_id)
    ) as pair_events (event_id)

)

select * from final
