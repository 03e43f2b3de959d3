with

current_status as (

    select * from {{ ref('fct_order_current_status') }}

),

final as (

    select
        order_id,
        canonical_status,
        updated_at,
        status_since,
        is_terminal,
        status_source_system,
        status_source_field,
        status_source_code,
        status_node,
        customer_id,
        store_id,
        region,
        ship_to_country,
        ship_to_region,
        channel,
        delivery_method,
        payment_state,
        payment_source_code,
        total_net_amount,
        currency,
        created_at,
        event_count,
        unmapped_event_count,
        regression_count,
        crosswalk_version

    from current_status

)

select * from final
