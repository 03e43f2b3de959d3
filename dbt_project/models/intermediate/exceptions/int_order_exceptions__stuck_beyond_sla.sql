-- Exception rule stuck_beyond_sla (severity from seeds/status_slas.csv): an order in a
-- non-terminal status longer than the SLA for that status and its channel. The clock is
-- the time the sources are known as of (macro sources_as_of: the wall clock bounded by the
-- latest successful extraction; or the var exceptions_as_of). One exception per order (keyed by the event its status run began
-- with), with that event and the one that decided the status; it holds from the moment
-- the SLA ran out.
with

open_orders as (

    select * from {{ ref('fct_order_current_status') }}
    where not coalesce(is_terminal, false)
        and status_since is not null

),

slas as (

    select * from {{ ref('status_slas') }}

),

clock as (

    select {{ sources_as_of() }} as as_of

),

stuck_orders as (

    select
        open_orders.order_id,
        open_orders.canonical_status,
        open_orders.channel,
        open_orders.status_since,
        open_orders.status_event_id,
        open_orders.status_since_event_id,
        slas.sla_hours,
        slas.severity,
        clock.as_of,
        open_orders.status_since + slas.sla_hours * interval '1 hour' as breached_at

    from open_orders
    cross join clock
    inner join slas
        on open_orders.canonical_status = slas.canonical_status
        and open_orders.channel = slas.channel
    where clock.as_of - open_orders.status_since > slas.sla_hours * interval '1 hour'

),

final as (

    select
        'stuck_beyond_sla' as exception_type,
        stuck_orders.severity,
        stuck_orders.order_id,
        stuck_orders.status_since_event_id as exception_key,
        involved.event_id,
        stuck_orders.breached_at as detected_at,
        jsonb_build_object(
            'canonical_status', stuck_orders.canonical_status,
            'channel', stuck_orders.channel,
            'sla_hours', stuck_orders.sla_hours,
            'status_since', {{ iso_utc('stuck_orders.status_since') }},
            'as_of', {{ iso_utc('stuck_orders.as_of') }},
            'hours_in_status', round(
                cast(extract(epoch from stuck_orders.as_of - stuck_orders.status_since) / 3600 as numeric), 1
            )
        ) as extra

    from stuck_orders
    cross join lateral (
        values (stuck_orders.status_since_event_id), (stuck_orders.status_event_id)
    ) as involved (event_id)

)

select * from final
