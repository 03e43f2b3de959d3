{{ config(indexes=[
    {'columns': ['order_id', 'step_number'], 'unique': true},
]) }}

-- Every canonical (mapped) event of an order in the order it happened; at equal time
-- in the reverse of the current-status tie-break, so the last step is the event that
-- decides fct_order_current_status.
with

events as (

    select * from {{ ref('fct_order_status_events') }}
    where is_mapped

),

stepped as (

    select
        order_id,
        row_number() over (
            partition by order_id
            order by
                event_time asc,
                status_precedence desc,
                lifecycle_rank asc,
                source_field desc,
                event_id desc
        ) as step_number,
        count(*) over (partition by order_id) as step_count,
        event_id,
        event_time,
        canonical_status,
        cbv_biz_step,
        cbv_disposition,
        lifecycle_rank,
        is_terminal,
        node,
        node_country,
        source_system,
        source_field,
        source_code

    from events

),

final as (

    select
        order_id,
        step_number,
        step_number = step_count as is_last_step,
        event_id,
        event_time,
        canonical_status,
        cbv_biz_step,
        cbv_disposition,
        lifecycle_rank,
        is_terminal,
        node,
        node_country,
        source_system,
        source_field,
        source_code

    from stepped

)

select * from final
