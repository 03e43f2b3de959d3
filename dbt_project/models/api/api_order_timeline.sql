with

timeline as (

    select * from {{ ref('fct_order_timeline') }}

),

final as (

    select
        order_id,
        step_number,
        is_last_step,
        decides_status,
        is_regression,
        event_time,
        canonical_status,
        cbv_biz_step,
        cbv_disposition,
        is_terminal,
        payment_state,
        event_message,
        node,
        node_type,
        node_name,
        node_city,
        node_region,
        node_country,
        source_system,
        source_field,
        source_code,
        event_id

    from timeline

)

select * from final
