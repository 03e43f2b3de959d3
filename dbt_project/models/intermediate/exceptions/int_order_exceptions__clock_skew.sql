-- Exception rule clock_skew (warning): an event dated further from the time it was
-- extracted than seeds/clock_skew_tolerances allows (a scanner or server with a wrong
-- clock). It is shown, flagged, and decides nothing. One exception per event; it holds
-- from its extraction.
with

skewed_events as (

    select * from {{ ref('fct_order_status_events') }}
    where order_id is not null
        and is_clock_skewed

),

final as (

    select
        'clock_skew' as exception_type,
        'warning' as severity,
        order_id,
        event_id as exception_key,
        event_id,
        source_extracted_at as detected_at,
        jsonb_build_object(
            'event_time', {{ iso_utc('event_time') }},
            'extracted_at', {{ iso_utc('source_extracted_at') }}
        ) as extra

    from skewed_events

)

select * from final
