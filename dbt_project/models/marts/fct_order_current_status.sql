{{ config(indexes=[
    {'columns': ['order_id'], 'unique': true},
    {'columns': ['canonical_status', 'updated_at']},
]) }}

-- One row per ERP order. Its status is the canonical status of its last mapped event
-- by event time (never arrival time); at equal time the lower status precedence wins
-- (tms 1, wms 2, crm 3, erp 4; 0 for the system that is the authority on that status:
-- the ERP on cancelled), then the higher lifecycle rank.
with

orders as (

    select * from {{ ref('stg_erp__sales_orders') }}
    where is_latest_version

),

events as (

    select * from {{ ref('fct_order_status_events') }}

),

ranked_events as (

    select
        *,
        row_number() over (
            partition by order_id
            order by
                event_time desc,
                status_precedence asc,
                lifecycle_rank desc,
                source_field asc,
                event_id asc
        ) as recency

    from events
    where is_mapped

),

current_events as (

    select * from ranked_events
    where recency = 1

),

event_counts as (

    select
        order_id,
        count(*) as event_count,
        count(*) filter (where not is_mapped) as unmapped_event_count

    from events
    group by order_id

),

final as (

    select

        ---------- ids
        orders.order_id,
        orders.customer_id,
        orders.store_id,

        ---------- status
        current_events.canonical_status,
        current_events.event_time as updated_at,
        current_events.is_terminal,
        current_events.source_system as status_source_system,
        current_events.source_field as status_source_field,
        current_events.source_code as status_source_code,
        current_events.node as status_node,
        current_events.event_id as status_event_id,
        current_events.crosswalk_version,

        ---------- order attributes (latest ERP version)
        orders.region,
        orders.ship_to_country,
        orders.ship_to_region,
        orders.channel,
        orders.total_net_amount,
        orders.currency,
        orders.created_at,

        ---------- counts
        coalesce(event_counts.event_count, 0) as event_count,
        coalesce(event_counts.unmapped_event_count, 0) as unmapped_event_count

    from orders
    left join current_events
        on orders.order_id = current_events.order_id
    left join event_counts
        on orders.order_id = event_counts.order_id

)

select * from final
