with

events as (

    select * from {{ ref('fct_order_status_events') }}

),

final as (

    select
        event_id,
        order_id,
        event_time,
        source_system,
        source_field,
        source_code,
        canonical_status,
        cbv_biz_step,
        cbv_disposition,
        lifecycle_rank,
        is_terminal,
        payment_state,
        is_mapped,
        node,
        node_type,
        node_region,
        node_country,
        event_message,
        crosswalk_version,
        source_record_key,
        source_content_hash,
        source_batch_id

    from events

)

select * from final
