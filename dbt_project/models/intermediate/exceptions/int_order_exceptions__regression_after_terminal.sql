-- Exception rule regression_after_terminal (warning): a physical movement later than a
-- terminal step of its shipment or of the order itself, with a lower lifecycle rank
-- (delivered, then in_transit; the timeline flags it with is_regression and never lets it
-- decide). A later parcel of the same order, a return on its own tracker and paperwork
-- after a delivery are no regression. One exception per terminal step, with the steps
-- that regressed after it; it holds from the first regression.
with

terminal_steps as (

    select * from {{ ref('fct_order_timeline') }}
    where is_terminal
        and payment_state is null
        and not is_clock_skewed

),

regressing_steps as (

    select * from {{ ref('fct_order_timeline') }}
    where is_regression
        and payment_state is null

),

regressions as (

    select
        terminal_steps.order_id,
        terminal_steps.event_id as terminal_event_id,
        regressing_steps.event_id as later_event_id,
        regressing_steps.event_time as later_event_time

    from terminal_steps
    inner join regressing_steps
        on terminal_steps.order_id = regressing_steps.order_id
        and regressing_steps.event_time > terminal_steps.event_time
        and regressing_steps.lifecycle_rank < terminal_steps.lifecycle_rank
        and (
            terminal_steps.shipment_id is null
            or terminal_steps.shipment_id = regressing_steps.shipment_id
        )

),

final as (

    select
        'regression_after_terminal' as exception_type,
        'warning' as severity,
        regressions.order_id,
        regressions.terminal_event_id as exception_key,
        involved.event_id,
        involved.detected_at,
        cast(null as jsonb) as extra

    from regressions
    -- the terminal step explains the exception, the later step shows it
    cross join lateral (
        values
            (regressions.terminal_event_id, cast(null as timestamptz)),
            (regressions.later_event_id, regressions.later_event_time)
    ) as involved (event_id, detected_at)

)

select * from final
