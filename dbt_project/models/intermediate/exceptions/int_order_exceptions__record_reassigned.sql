-- Exception rule record_reassigned (warning): a later version of a source record names
-- another order than an earlier one did (a carrier corrects a tracker's reference, a
-- delivery order or a fulfillment order is moved). The latest version decides: every event
-- of the record moved to the order it names now. Both orders show the move: the one it
-- left (found through the events' previous_order_ids, indexed) and the one it joined. One
-- exception per order and record, with the record's events; it holds from the version
-- that moved it.
with

events as not materialized (

    -- read twice below: not materialized, so an order filter reaches both reads
    select * from {{ ref('fct_order_status_events') }}

),

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

moves as (

    -- the order the record joined
    select
        events.order_id,
        events.order_id as now_order_id,
        events.event_id,
        events.source_system,
        events.source_record_key,
        events.previous_order_ids,
        events.order_reassigned_at

    from events
    where events.order_id is not null
        and jsonb_array_length(events.previous_order_ids) > 0

    union all

    -- the orders it left
    select
        orders.order_id,
        events.order_id,
        events.event_id,
        events.source_system,
        events.source_record_key,
        events.previous_order_ids,
        events.order_reassigned_at

    from orders
    inner join events
        on events.previous_order_ids @> jsonb_build_array(orders.order_id)

),

final as (

    select
        'record_reassigned' as exception_type,
        'warning' as severity,
        moves.order_id,
        concat_ws('|', moves.source_system, moves.source_record_key) as exception_key,
        moves.event_id,
        moves.order_reassigned_at as detected_at,
        jsonb_build_object(
            'source_system', moves.source_system,
            'source_record_key', moves.source_record_key,
            'now_order_id', moves.now_order_id,
            'previous_order_ids', moves.previous_order_ids
        ) as extra

    from moves

)

select * from final
