-- Exception rule unmapped_status_code (error): an event carries a code the crosswalk
-- lacks. One exception per order and (system, field, code), with every event carrying
-- it; it holds from the first of them.
with

unmapped_events as (

    select * from {{ ref('fct_order_status_events') }}
    where order_id is not null
        and not is_mapped

),

final as (

    select
        'unmapped_status_code' as exception_type,
        'error' as severity,
        order_id,
        concat_ws('|', source_system, source_field, source_code) as exception_key,
        event_id,
        event_time as detected_at,
        jsonb_build_object(
            'source_system', source_system,
            'source_field', source_field,
            'source_code', source_code
        ) as extra

    from unmapped_events

)

select * from final
