-- Each observation with its id and canonical meaning. A code that is not in the crosswalk
-- is kept with is_mapped = false (and null canonical columns), never guessed. Codes
-- with a payment_state (web shop financial status) live on the payment axis: they
-- never decide the lifecycle status on their own (see fct_order_timeline).
with

events as (

    select * from {{ ref('int_order_events__unioned') }}

),

crosswalk as (

    select * from {{ ref('int_status_crosswalk__versioned') }}

),

precedence as (

    select * from {{ ref('source_precedence') }}

),

crosswalk_version as (

    select max(crosswalk_version) as crosswalk_version from crosswalk

),

mapped as (

    select
        -- the event's stable id (fct_order_status_events keeps it; the audit recomputes
        -- events through this view and compares)
        md5(concat_ws(
            '|',
            events.source_system,
            events.source_record_key,
            events.source_field,
            coalesce(events.source_code, ''),
            {{ iso_utc('events.event_time') }}
        )) as event_id,
        events.order_id,
        events.source_system,
        events.source_field,
        events.source_code,
        {{ crosswalk_attributes('crosswalk') }},
        crosswalk.source_code is not null as is_mapped,
        coalesce(precedence.precedence, 99) as source_precedence,
        case
            when crosswalk.canonical_status = precedence.authority_on then 0
            else coalesce(precedence.precedence, 99)
        end as status_precedence,
        events.event_time,
        events.node,
        events.node_type,
        events.node_region,
        events.node_country,
        events.event_message,
        crosswalk_version.crosswalk_version,
        events.source_record_key,
        events.content_hash,
        events.batch_id,
        events.extracted_at

    from events
    cross join crosswalk_version
    left join crosswalk
        on events.source_system = crosswalk.source_system
        and events.source_field = crosswalk.source_field
        and events.source_code = crosswalk.source_code
    left join precedence
        on events.source_system = precedence.source_system

)

select * from mapped
