-- The steps of each order in the order they happened, and what each may do:
--   * steps are ordered by event time; at equal time in the reverse of the tie-break
--     (status precedence, then lifecycle rank), so of the steps that may decide, the last
--     one wins;
--   * a lifecycle step later than a terminal step with a higher rank - of its own shipment,
--     or of the order itself (a cancellation) - is after_terminal: shown, never decides;
--     when it is a physical movement (a warehouse operation, a carrier scan) it is a
--     regression, when a document update (ERP or order-management paperwork) it is not;
--   * a clock-skewed step is shown and flagged, and plays no part in any of this;
--   * starts_status_run marks where a run of one status begins among the steps that may
--     decide, per shipment (or the order's own steps) on the lifecycle axis, and on the
--     payment axis.
-- Every window is partitioned by order, so the timeline's literal order filter reaches
-- the events mart.
with

steps as not materialized (

    select * from {{ ref('int_order_steps__scoped') }}

),

ordered as (

    select
        *,
        payment_state is null as is_lifecycle_step,
        row_number() over by_time as step_number,
        -- the whole order in the same window (row_number ignores the frame): one window
        -- aggregate, not a second one over the order
        count(*) over by_time as step_count

    from steps
    window by_time as (
        partition by order_id
        order by
            event_time asc,
            status_precedence desc,
            lifecycle_rank asc,
            source_field collate "C" desc,
            event_id desc
        rows between unbounded preceding and unbounded following
    )

),

terminal_ranks as (

    -- the highest rank of a terminal lifecycle step strictly before each step, in its
    -- shipment (or among the order's own steps), and among the order's own steps
    -- (windows, not correlated subqueries: linear in the steps of an order). "Strictly
    -- before" is the frame ending a microsecond (event_time's resolution) before the
    -- step: a frame that excludes the current row's peers (exclude group) would make
    -- PostgreSQL aggregate the whole frame again for every row, quadratic in the steps
    select
        *,
        max(
            case
                when is_lifecycle_step and is_terminal and not is_clock_skewed then lifecycle_rank
            end
        ) over (
            partition by order_id, shipment_id
            order by event_time
            range between unbounded preceding and interval '1 microsecond' preceding
        ) as earlier_shipment_terminal_rank,
        max(
            case
                when is_lifecycle_step and is_terminal and not is_clock_skewed and shipment_id is null
                    then lifecycle_rank
            end
        ) over (
            partition by order_id
            order by event_time
            range between unbounded preceding and interval '1 microsecond' preceding
        ) as earlier_order_terminal_rank

    from ordered

),

flagged as (

    select
        *,
        coalesce(
            is_lifecycle_step
            and not is_terminal
            and not is_clock_skewed
            and greatest(earlier_shipment_terminal_rank, earlier_order_terminal_rank)
                > lifecycle_rank,
            false
        ) as is_after_terminal

    from terminal_ranks

),

eligible as (

    select
        *,
        is_after_terminal and event_class = 'physical_movement' as is_regression,
        is_lifecycle_step and not is_after_terminal and not is_clock_skewed as may_decide

    from flagged

),

runs as (

    -- one window for both axes (one sort of an order's steps, not two): a lifecycle step
    -- that may decide follows the previous one of its shipment (may_decide implies not
    -- clock-skewed), a payment step the previous one with the same skew flag (may_decide
    -- is false for all of them); the other steps' lag is not used
    select
        *,
        case
            when is_clock_skewed then false
            when is_lifecycle_step and not may_decide then false
            else case when is_lifecycle_step then canonical_status else payment_state end
                is distinct from lag(
                    case when is_lifecycle_step then canonical_status else payment_state end
                ) over (
                    partition by
                        order_id,
                        is_lifecycle_step,
                        may_decide,
                        is_clock_skewed,
                        case when is_lifecycle_step then shipment_id end
                    order by step_number
                )
        end as starts_status_run

    from eligible

),

final as (

    select
        {{- select_list(order_step_columns('flagged')) }}

    from runs

)

select * from final
