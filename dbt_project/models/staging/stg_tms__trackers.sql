-- one row per stored version of a tracker: what the carrier said about the tracker itself
-- (its reference, code, carrier) at each version; its details are in stg_tms__tracking_events
with

source as (

    select * from {{ source('tms', 'trackers') }}

),

renamed as (

    select

        ---------- ids
        tracker.id as tracker_id,
        tracker.tracking_code,
        nullif(tracker.reference, '') as order_id,

        ---------- strings
        tracker.carrier,
        tracker.status,

        ---------- a version saying the tracker is gone: EasyPost announces no deletion (a
        ---------- deleted tracker is no longer listed), so only `orderhub connectors
        ---------- reconcile` says so (_deleted_by_reconciliation); the derivation spec's
        ---------- tms "deletion" says the same
        case
            when tracker._deleted_by_reconciliation is not null then 'missing_at_source'
        end as deletion_code,

        ---------- timestamps
        cast(tracker.updated_at as timestamptz) as updated_at,
        -- an estimate is advice: one that is not an ISO 8601 time is left out, not fatal
        case
            when tracker.est_delivery_date ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$'
                then cast(tracker.est_delivery_date as timestamptz)
        end as est_delivery_at,

        ---------- provenance
        {{ raw_provenance('source') }}

    from source
    -- the members read, in one pass over the version (each ->> decompresses the whole
    -- version, every tracking detail with it, again); a member as text is what ->> gives
    cross join lateral jsonb_to_record(source.data) as tracker (
        id text, tracking_code text, reference text, carrier text, status text,
        updated_at text, est_delivery_date text, _deleted_by_reconciliation text
    )

)

select * from renamed
