with

exceptions as (

    select * from {{ ref('fct_order_exceptions') }}

),

final as (

    select
        exception_id,
        order_id,
        exception_type,
        severity,
        systems,
        event_ids,
        detected_since,
        details

    from exceptions

)

select * from final
