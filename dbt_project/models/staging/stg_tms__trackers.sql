-- one row per stored version of a tracker: what the carrier said about the tracker itself
-- (its reference, code, carrier) at each version; its details are in stg_tms__tracking_events
with

source as (

    select * from {{ source('tms', 'trackers') }}

),

renamed as (

    select

        ---------- ids
        data ->> 'id' as tracker_id,
        data ->> 'tracking_code' as tracking_code,
        nullif(data ->> 'reference', '') as order_id,

        ---------- strings
        data ->> 'carrier' as carrier,
        data ->> 'status' as status,

        ---------- a version saying the tracker is gone: EasyPost announces no deletion (a
        ---------- deleted tracker is no longer listed), so only `orderhub connectors
        ---------- reconcile` says so (_deleted_by_reconciliation); the derivation spec's
        ---------- tms "deletion" says the same
        case
            when data ->> '_deleted_by_reconciliation' is not null then 'missing_at_source'
        end as deletion_code,

        ---------- timestamps
        cast(data ->> 'updated_at' as timestamptz) as updated_at,
        -- an estimate is advice: one that is not an ISO 8601 time is left out, not fatal
        case
            when data ->> 'est_delivery_date' ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$'
                then cast(data ->> 'est_delivery_date' as timestamptz)
        end as est_delivery_at,

        ---------- provenance
        {{ raw_provenance() }}

    from source

)

select * from renamed
