-- Each observation with its id and canonical meaning. The code is matched with the crosswalk
-- on its normalised key (seeds/status_fields); a code that is not in the crosswalk is kept
-- with is_mapped = false (and null canonical columns), never guessed. Codes with a
-- payment_state (web shop financial status) live on the payment axis: they never decide
-- the lifecycle status on their own (see fct_order_timeline). The record's latest version
-- decides the order an event belongs to (int_source_records__latest), so a corrected
-- reference moves every event of the record; an event dated further from its extraction
-- than seeds/clock_skew_tolerances allows is flagged is_clock_skewed.
with

events as (

    select * from {{ ref('int_order_events__unioned') }}

),

records as (

    select * from {{ ref('int_source_records__latest') }}

),

crosswalk as (

    select * from {{ ref('int_status_crosswalk__versioned') }}

),

status_fields as (

    select * from {{ ref('status_fields') }}

),

tolerances as (

    select * from {{ ref('clock_skew_tolerances') }}

),

precedence as (

    select * from {{ ref('source_precedence') }}

),

crosswalk_version as (

    select max(crosswalk_version) as crosswalk_version from crosswalk

),

mapped as (

    select
        -- the event's stable id, from the code as sent (fct_order_status_events keeps it;
        -- the audit recomputes events through this view and compares)
        md5(concat_ws(
            '|',
            events.source_system,
            events.source_record_key,
            events.source_field,
            coalesce(events.source_code, ''),
            {{ iso_utc('events.event_time') }}
        )) as event_id,
        records.order_id,
        records.previous_order_ids,
        records.reassigned_at as order_reassigned_at,
        events.source_system,
        events.source_field,
        events.source_code,
        coalesce(crosswalk.source_code, events.code_key) as normalised_code,
        {{ crosswalk_attributes('crosswalk') }},
        crosswalk.source_code is not null as is_mapped,
        coalesce(status_fields.event_class, 'physical_movement') as event_class,
        coalesce(
            events.event_time > events.extracted_at + tolerances.max_ahead_minutes * interval '1 minute'
            or events.event_time < events.extracted_at - tolerances.max_behind_days * interval '1 day',
            false
        ) as is_clock_skewed,
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
        events.node_postal_code,
        events.event_message,
        records.shipment_ref,
        records.tracking_code,
        records.carrier,
        crosswalk_version.crosswalk_version,
        events.source_record_key,
        -- the record's own keys (equal to the event's): a filter by source record on these
        -- reaches the record-move detection (int_source_records__latest); PostgreSQL does
        -- not carry one on the event's keys across the join (fct_order_status_events)
        records.source_system as record_source_system,
        records.record_key,
        events.content_hash,
        events.batch_id,
        events.extracted_at

    from events
    cross join crosswalk_version
    inner join records
        on events.source_system = records.source_system
        and events.source_record_key = records.record_key
    left join crosswalk
        on events.source_system = crosswalk.source_system
        and events.source_field = crosswalk.source_field
        and events.code_key = crosswalk.code_key
    left join status_fields
        on events.source_system = status_fields.source_system
        and events.source_field = status_fields.source_field
    left join tolerances
        on events.source_system = tolerances.source_system
    left join precedence
        on events.source_system = precedence.source_system

)

select * from mapped
