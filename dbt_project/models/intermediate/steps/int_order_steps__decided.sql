-- Which step decides each shipment's status and the order's (README, "How the current
-- status is decided"):
--   * a shipment's status is its last step that may decide; a return delivered to a
--     company warehouse is returned;
--   * the order's status is rolled up from its shipments: partially_fulfilled while one
--     parcel has left and another has not, or while one of the order's own fields says
--     only part was delivered (the ERP's delivery status B: never delivered then); else
--     the least advanced open outbound shipment's; else returned when as many returns
--     reached a company warehouse as parcels were delivered; else the latest terminal
--     shipment step's;
--   * without shipments, the order's own last step that may decide (ERP, CRM);
--   * the order's own terminal step (a cancellation) wins over its shipments unless a
--     terminal shipment step comes after it;
--   * payment codes decide only to make a placed order payment_due while unpaid.
-- Only window functions partitioned by order (macro first_where), so the timeline's
-- literal order filter reaches the events mart through all of them.
{%- set shipped = text_literals(shipped_statuses()) %}
with

steps as (

    select * from {{ ref('int_order_steps__flagged') }}

),

shipment_steps as (

    select
        *,
        coalesce(
            may_decide
            and shipment_id is not null
            and step_number = max(step_number) filter (where may_decide) over by_shipment,
            false
        ) as decides_shipment_status,
        coalesce(
            bool_or(may_decide and canonical_status in ({{ shipped }})) over by_shipment,
            false
        ) as shipment_has_left,
        coalesce(
            may_decide
            and shipment_id is null
            and step_number = max(step_number) filter (where may_decide) over by_field,
            false
        ) as is_field_latest

    from steps
    window
        by_shipment as (partition by order_id, shipment_id),
        by_field as (partition by order_id, shipment_id, source_field)

),

roles as (

    select
        *,
        case
            when not decides_shipment_status then null
            when shipment_direction = 'return' and canonical_status = 'delivered' then 'returned'
            else canonical_status
        end as shipment_status,
        decides_shipment_status
            and shipment_direction = 'outbound'
            and canonical_status <> 'cancelled' as decides_outbound,
        decides_shipment_status
            and shipment_direction = 'return'
            and canonical_status = 'delivered' as decides_return,
        may_decide and shipment_id is null as own_may_decide,
        is_field_latest and canonical_status = 'partially_fulfilled' as says_partial,
        not is_lifecycle_step and not is_clock_skewed as is_payment_step

    from shipment_steps

),

candidates as (

    select
        *,
        bool_or(decides_outbound and shipment_has_left) over by_order as any_left,
        count(*) filter (where decides_outbound and canonical_status = 'delivered') over by_order
            as delivered_count,
        count(*) filter (where decides_return) over by_order as returned_count,
        {{ first_where('event_id', 'decides_outbound and not is_terminal and not shipment_has_left',
            'lifecycle_rank, step_number desc') }} as waiting_event_id,
        {{ first_where('event_id', 'decides_outbound and not is_terminal',
            'lifecycle_rank, step_number desc') }} as open_event_id,
        {{ first_where('event_id', 'decides_return', 'step_number desc') }} as return_event_id,
        {{ first_where('step_number', 'decides_return', 'step_number desc') }} as return_step_number,
        {{ first_where('event_id', 'decides_outbound and is_terminal', 'step_number desc') }}
            as terminal_event_id,
        {{ first_where('step_number', 'decides_outbound and is_terminal', 'step_number desc') }}
            as terminal_step_number,
        {{ first_where('event_id', 'decides_shipment_status', 'step_number desc') }}
            as latest_shipment_event_id,
        {{ first_where('step_number', 'decides_shipment_status', 'step_number desc') }}
            as latest_shipment_step_number,
        {{ first_where('is_terminal', 'decides_shipment_status', 'step_number desc') }}
            as latest_shipment_is_terminal,
        {{ first_where('event_id', 'own_may_decide', 'step_number desc') }} as own_event_id,
        {{ first_where('step_number', 'own_may_decide', 'step_number desc') }} as own_step_number,
        {{ first_where('is_terminal', 'own_may_decide', 'step_number desc') }} as own_is_terminal,
        {{ first_where('canonical_status', 'own_may_decide', 'step_number desc') }} as own_status,
        {{ first_where('event_id', 'says_partial', 'step_number desc') }} as partial_event_id,
        {{ first_where('event_id', 'is_payment_step', 'step_number desc') }} as payment_event_id,
        {{ first_where('payment_state', 'is_payment_step', 'step_number desc') }} as payment_state_now

    from roles
    -- the whole order, in the ordering of the first_where calls by 'step_number desc'
    -- (an aggregate over the whole partition does not depend on it): one window for them all
    window by_order as (
        partition by order_id
        order by step_number desc
        rows between unbounded preceding and unbounded following
    )

),

shipment_choices as (

    -- what the shipments make of the order: (event, rolled-up status, terminal, step)
    select
        *,
        case
            when any_left and (waiting_event_id is not null or partial_event_id is not null)
                then 'partial'
            when open_event_id is not null then 'open'
            when returned_count > 0 and returned_count >= delivered_count then 'returned'
            when terminal_event_id is not null then 'terminal'
            when own_event_id is null then 'latest'
        end as shipment_rule

    from candidates

),

lifecycle_choices as (

    select
        *,
        case shipment_rule
            when 'partial' then coalesce(partial_event_id, waiting_event_id)
            when 'open' then open_event_id
            when 'returned' then return_event_id
            when 'terminal' then terminal_event_id
            when 'latest' then latest_shipment_event_id
        end as shipment_event_id,
        case shipment_rule
            when 'returned' then return_step_number
            when 'terminal' then terminal_step_number
            when 'latest' then latest_shipment_step_number
        end as shipment_terminal_step,
        case shipment_rule
            when 'returned' then true
            when 'terminal' then true
            when 'latest' then latest_shipment_is_terminal
            else false
        end as shipment_is_terminal

    from shipment_choices

),

decisions as (

    select
        *,
        -- the order's own terminal step wins unless a terminal shipment step comes after it
        shipment_rule is null
            or (own_is_terminal and not (shipment_is_terminal and shipment_terminal_step > own_step_number))
            as own_decides

    from lifecycle_choices

),

paid as (

    select
        *,
        payment_state_now = 'unpaid'
            and (
                (own_decides and coalesce(own_status, 'placed') = 'placed')
                or (own_event_id is null and shipment_rule is null)
            ) as payment_decides

    from decisions

),

chosen as (

    select
        *,
        case
            when payment_decides then payment_event_id
            when own_decides then own_event_id
            else shipment_event_id
        end as deciding_event_id

    from paid

),

decided as (

    select
        *,
        coalesce(event_id = deciding_event_id, false) as decides_status,
        case
            when event_id is distinct from deciding_event_id then null
            when payment_decides or own_decides then canonical_status
            when shipment_rule = 'partial' then 'partially_fulfilled'
            when shipment_rule = 'returned' then 'returned'
            else canonical_status
        end as decided_status

    from chosen

),

final as (

    select
        {{- select_list(order_step_columns('decided')) }}

    from decided

)

select * from final
