with

timeline as (

    select * from {{ ref('order_timeline') }}

),

final as (

    select
        order_id,
        step_number,
        is_last_step,
        event_time,
        canonical_status,
        cbv_biz_step,
        cbv_disposition,
        is_terminal,
        node,
        node_country,
        source_system,
        source_field,
        source_code,
        event_id

    from timeline

)

select * from final
