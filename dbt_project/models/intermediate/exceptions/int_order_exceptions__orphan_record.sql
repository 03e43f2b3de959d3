-- Exception rule orphan_record (warning): records of other systems reference an order the
-- ERP never sent. The order is served all the same (fct_order_current_status.is_orphan),
-- and joined up when the ERP order arrives: the exception then disappears. One exception
-- per order, with every event of it; it holds from its first event (when that time can be
-- trusted; else from its extraction).
with

orphans as (

    select * from {{ ref('fct_order_current_status') }}
    where is_orphan

),

events as (

    select * from {{ ref('fct_order_status_events') }}

),

final as (

    select
        'orphan_record' as exception_type,
        'warning' as severity,
        orphans.order_id,
        '' as exception_key,
        events.event_id,
        case
            when events.is_clock_skewed then events.source_extracted_at
            else events.event_time
        end as detected_at,
        cast(null as jsonb) as extra

    from orphans
    inner join events
        on orphans.order_id = events.order_id

)

select * from final
