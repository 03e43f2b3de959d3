{{ config(indexes=[
    {'columns': ['event_id'], 'unique': true},
    {'columns': ['order_id', 'event_time']},
]) }}

with

mapped_events as (

    select * from {{ ref('int_order_events__mapped') }}

),

identified as (

    select
        md5(concat_ws(
            '|',
            source_system,
            source_record_key,
            source_field,
            coalesce(source_code, ''),
            {{ iso_utc('event_time') }}
        )) as event_id,
        *

    from mapped_events

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by event_id
            order by extracted_at, content_hash
        ) as nth_sighting

    from identified

),

final as (

    select

        ---------- ids
        event_id,
        order_id,

        ---------- source
        source_system,
        source_field,
        source_code,

        ---------- canonical meaning
        canonical_status,
        cbv_biz_step,
        cbv_disposition,
        lifecycle_rank,
        is_terminal,
        is_mapped,
        source_precedence,
        status_precedence,

        ---------- where and when
        node,
        node_country,
        event_time,

        ---------- provenance
        crosswalk_version,
        source_record_key,
        content_hash as source_content_hash,
        batch_id as source_batch_id,
        extracted_at as source_extracted_at

    from deduplicated
    where nth_sighting = 1

)

select * from final
