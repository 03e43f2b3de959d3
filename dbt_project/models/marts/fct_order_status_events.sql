{#- per_source_record: it rebuilds by source record (macro source_records_condition) -#}
{%- set bookkeeping = {'per_source_record': true, 'fingerprint_seeds': [
    'status_crosswalk', 'status_fields', 'source_precedence', 'clock_skew_tolerances',
]} -%}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['source_system', 'source_record_key'],
    on_schema_change='sync_all_columns',
    meta=bookkeeping,
    indexes=[
        {'columns': ['event_id'], 'unique': true},
        {'columns': ['order_id', 'event_time']},
        {'columns': ['source_system', 'source_record_key']},
        {'columns': ['built_at']},
        {'columns': ['event_time']},
        {'columns': ['previous_order_ids'], 'type': 'gin'},
        {'columns': ['source_system', 'source_extracted_at']},
    ],
    post_hook=["{{ ensure_index_sql(this, ['source_system', 'source_extracted_at']) }}"],
) }}
{#- (source_system, source_extracted_at): each system's latest extraction derived (macro
    changed_source_records: this build and each test of a view it reads). dbt creates
    `indexes` with a new or fully refreshed table only; the post-hook gives a table built
    before it the index, once (macros/ensure_index.sql: no lock when it is there) -#}

-- depends_on: {{ source('erp', 'sales_orders') }}
-- depends_on: {{ source('crm', 'fulfillment_orders') }}
-- depends_on: {{ source('wms', 'pickings') }}
-- depends_on: {{ source('tms', 'trackers') }}

{#- Incremental by source record: a run re-derives every event of each record that has a
    version extracted since the last run (delete+insert on the record), so a late older
    version lands where it happened, an event it makes redundant disappears, and a
    corrected order reference moves every event of the record (previous_order_ids keeps
    the orders it left, which the per-order marts rebuild too). A changed crosswalk,
    status-field, precedence or skew-tolerance seed re-derives every record (README,
    "Incremental builds"). -#}
{%- set state = incremental_state() %}

with

mapped_events as (

    select * from {{ ref('int_order_events__mapped') }}
    {%- if state.mode in ('incremental', 'hot_path') %}
    -- by the event's keys and by its record's (the latter reaches the record-move
    -- detection: macro source_records_condition)
    where {{ source_records_condition(state, keys=[
        ('source_system', 'source_record_key'), ('record_source_system', 'record_key'),
    ]) }}
    {%- endif %}

),

deduplicated as (

    -- observations with one id (same system, record, field, code and time, such as two
    -- tracking details that differ only in their status detail) are one event: the
    -- first sighting stays (within one version, the first by where it was seen, bytewise)
    select
        *,
        row_number() over (
            partition by event_id
            order by
                extracted_at,
                content_hash,
                node_type collate "C",
                node collate "C",
                node_region collate "C",
                node_country collate "C",
                node_postal_code collate "C",
                event_message collate "C"
        ) as nth_sighting

    from mapped_events

),

final as (

    select

        ---------- ids
        event_id,
        order_id,
        previous_order_ids,
        order_reassigned_at,

        ---------- source
        source_system,
        source_field,
        source_code,
        normalised_code,

        ---------- canonical meaning
        {{ crosswalk_attributes() }},
        is_mapped,
        event_class,
        source_precedence,
        status_precedence,

        ---------- where and when
        node,
        node_type,
        node_region,
        node_country,
        node_postal_code,
        event_message,
        event_time,
        is_clock_skewed,

        ---------- the shipment the record names
        shipment_ref,
        tracking_code,
        carrier,

        ---------- provenance
        crosswalk_version,
        source_record_key,
        content_hash as source_content_hash,
        batch_id as source_batch_id,
        extracted_at as source_extracted_at,

        ---------- build bookkeeping
        {{ bookkeeping_columns(bookkeeping.fingerprint_seeds) }}

    from deduplicated
    where nth_sighting = 1

)

select * from final
