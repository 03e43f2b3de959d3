-- one row per tracking detail, from every stored version of a tracker: a detail
-- seen in several versions is kept once, with the version that first carried it (and,
-- within one version, the first in the list). A session that sets
-- orderhub.tms_versions_since (the hot path) sees the versions extracted since then only.
with

source as (

    -- every version, unless the session narrows it: the live hot path sets
    -- orderhub.tms_versions_since in its transaction to re-derive only the versions since a
    -- tracker's last derivation (orderhub/recompute.py); nothing else sets it
    select * from {{ source('tms', 'trackers') }}
    where extracted_at >= coalesce(
        cast(nullif(current_setting('orderhub.tms_versions_since', true), '') as timestamptz),
        '-infinity'
    )

),

details as (

    select
        {{ raw_provenance('source') }},
        tracker.id as tracker_id,
        tracker.tracking_code,
        tracker.reference,
        tracker.carrier,
        detail.value as detail,
        detail.position as detail_position

    from source
    -- the tracker's members once per version, not per detail (each ->> decompresses the
    -- whole version again); a member as text is what ->> gives
    cross join lateral jsonb_to_record(source.data) as tracker (
        id text, tracking_code text, reference text, carrier text
    )
    cross join lateral jsonb_array_elements(
        {{ jsonb_array_or_empty("source.data -> 'tracking_details'") }}
    ) with ordinality as detail (value, position)

),

renamed as (

    select

        ---------- ids
        tracker_id,
        tracking_code,
        nullif(reference, '') as order_id,

        ---------- strings
        carrier,
        detail ->> 'status' as status,
        detail ->> 'status_detail' as status_detail,
        detail ->> 'message' as message,
        detail ->> 'source' as detail_source,
        detail -> 'tracking_location' ->> 'city' as city,
        detail -> 'tracking_location' ->> 'state' as state,
        detail -> 'tracking_location' ->> 'country' as country,
        detail -> 'tracking_location' ->> 'zip' as zip,

        ---------- timestamps
        cast(detail ->> 'datetime' as timestamptz) as event_time,
        detail_position,

        ---------- provenance
        {{ raw_provenance() }}

    from details

),

deduplicated as (

    -- partitioned by record_key (= tracker id) so that a filter on record_key, such as
    -- the incremental fct_order_status_events sets, reaches the raw table
    select
        *,
        row_number() over (
            partition by
                record_key,
                event_time,
                coalesce(status, ''),
                coalesce(status_detail, '')
            order by extracted_at, content_hash, detail_position
        ) as nth_sighting

    from renamed

),

final as (

    select
        md5(concat_ws(
            '|',
            tracker_id,
            {{ iso_utc('event_time') }},
            coalesce(status, ''),
            coalesce(status_detail, '')
        )) as tracking_event_id,
        tracker_id,
        tracking_code,
        order_id,
        carrier,
        status,
        status_detail,
        message,
        detail_source,
        city,
        state,
        country,
        zip,
        event_time,
        {{ raw_provenance() }}

    from deduplicated
    where nth_sighting = 1

)

select * from final
