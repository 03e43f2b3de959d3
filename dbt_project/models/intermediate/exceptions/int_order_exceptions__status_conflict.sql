-- Exception rule status_conflict (error): two systems contradict each other at the same
-- instant - one says a terminal status, the other, at the same second, a physical movement
-- of an earlier stage in the same shipment (or anywhere, when the terminal status is the
-- order's own, a cancellation): one second apart it would be a regression. Precedence
-- still picks the status; the tie does not go unnoticed. (Two terminal statuses from two
-- systems are a terminal_conflict whenever they happen.) One exception per terminal step,
-- with the steps that contradict it; it holds from that instant.
with

steps as not materialized (

    -- read twice below: not materialized, so that an order filter on the result reaches
    -- the timeline's order_id index through both reads
    select * from {{ ref('fct_order_timeline') }}
    where payment_state is null
        and not is_clock_skewed

),

contradictions as (

    select
        terminal_steps.order_id,
        terminal_steps.event_id as terminal_event_id,
        other_steps.event_id as other_event_id,
        terminal_steps.event_time,
        terminal_steps.canonical_status as terminal_status,
        other_steps.canonical_status as other_status

    -- lateral, and kept apart by "offset 0" (else PostgreSQL flattens it into a join):
    -- the other steps are read per terminal step, by its order. An order filter on the
    -- result reaches the terminal steps only (PostgreSQL carries an equality across a
    -- join, not "= any"): as a join the hot path's generic plan scanned every step of the
    -- timeline mart for the other side (docs/live.md)
    from steps as terminal_steps
    cross join lateral (
        select * from steps as candidates
        where candidates.order_id = terminal_steps.order_id
            and candidates.event_time = terminal_steps.event_time
            and candidates.source_system <> terminal_steps.source_system
        offset 0
    ) as other_steps
    where terminal_steps.is_terminal
        and not other_steps.is_terminal
        and other_steps.event_class = 'physical_movement'
        and other_steps.lifecycle_rank < terminal_steps.lifecycle_rank
        and (
            terminal_steps.shipment_id is null
            or terminal_steps.shipment_id = other_steps.shipment_id
        )

),

final as (

    select
        'status_conflict' as exception_type,
        'error' as severity,
        contradictions.order_id,
        contradictions.terminal_event_id as exception_key,
        involved.event_id,
        contradictions.event_time as detected_at,
        jsonb_build_object(
            'terminal_status', contradictions.terminal_status,
            'contradicting_status', contradictions.other_status
        ) as extra

    from contradictions
    cross join lateral (
        values (contradictions.terminal_event_id), (contradictions.other_event_id)
    ) as involved (event_id)

)

select * from final
