-- Every (system, field, code) seen in the sources that the crosswalk does not know.
-- It should be empty: tests/assert_no_unmapped_status_codes.sql warns and the Dagster
-- check unmapped_status_codes_are_mapped fails, naming each code, when it is not.
with

unmapped_events as (

    select * from {{ ref('fct_order_status_events') }}
    where not is_mapped

),

final as (

    select
        source_system,
        source_field,
        source_code,
        min(event_time) as first_seen,
        max(event_time) as last_seen,
        count(*) as event_count,
        count(distinct order_id) as order_count,
        min(order_id) as example_order_id,
        max(crosswalk_version) as crosswalk_version

    from unmapped_events
    group by source_system, source_field, source_code

)

select
    *,
    {{ unmapped_status_code_message() }} as message

from final
