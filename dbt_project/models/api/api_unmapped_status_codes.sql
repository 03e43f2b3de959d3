with

unmapped as (

    select * from {{ ref('fct_unmapped_status_codes') }}

),

final as (

    select
        source_system,
        source_field,
        source_code,
        first_seen,
        last_seen,
        event_count,
        order_count,
        example_order_id,
        crosswalk_version

    from unmapped

)

select * from final
