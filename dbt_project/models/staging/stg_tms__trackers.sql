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

        ---------- timestamps
        cast(data ->> 'updated_at' as timestamptz) as updated_at,

        ---------- provenance
        {{ raw_provenance() }}

    from source

)

select * from renamed
