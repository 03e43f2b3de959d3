-- Exception rule shipped_before_payment (error): the goods left while the payment was
-- unpaid or voided, in a channel whose sales_channels.payment_required_before_shipping
-- is true. The payment state when the goods left is the last payment code at or before
-- the first shipping step, else (a snapshot seen only later) the first one after it.
-- One exception per order, with the shipping step and that payment code; it holds from
-- the shipment.
with

shipping_steps as (

    -- the lifecycle steps that say the goods left the warehouse
    select
        order_id,
        event_id,
        event_time,
        row_number() over (partition by order_id order by step_number) as nth

    from {{ ref('fct_order_timeline') }}
    where payment_state is null
        and not is_clock_skewed
        and canonical_status in ({{ text_literals(shipped_statuses()) }})

),

payment_steps as (

    select * from {{ ref('fct_order_timeline') }}
    where payment_state is not null
        and not is_clock_skewed

),

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

channels as (

    select * from {{ ref('sales_channels') }}

),

payment_at_shipment as (

    select
        shipping_steps.order_id,
        shipping_steps.event_id as shipment_event_id,
        shipping_steps.event_time as shipped_at,
        payment_steps.event_id as payment_event_id,
        payment_steps.payment_state,
        payment_steps.source_code as payment_code,
        row_number() over (
            partition by shipping_steps.order_id
            order by
                payment_steps.event_time > shipping_steps.event_time,
                case
                    when payment_steps.event_time <= shipping_steps.event_time
                        then payment_steps.step_number
                end desc,
                payment_steps.step_number asc
        ) as nth

    from shipping_steps
    inner join payment_steps
        on shipping_steps.order_id = payment_steps.order_id
    where shipping_steps.nth = 1

),

unpaid_shipments as (

    select
        payment_at_shipment.*,
        orders.channel

    from payment_at_shipment
    inner join orders
        on payment_at_shipment.order_id = orders.order_id
    inner join channels
        on orders.channel = channels.channel
    where payment_at_shipment.nth = 1
        and channels.payment_required_before_shipping
        and payment_at_shipment.payment_state in ('unpaid', 'voided')

),

final as (

    select
        'shipped_before_payment' as exception_type,
        'error' as severity,
        unpaid_shipments.order_id,
        '' as exception_key,
        involved.event_id,
        unpaid_shipments.shipped_at as detected_at,
        jsonb_build_object(
            'channel', unpaid_shipments.channel,
            'payment_state', unpaid_shipments.payment_state,
            'payment_code', unpaid_shipments.payment_code
        ) as extra

    from unpaid_shipments
    cross join lateral (
        values (unpaid_shipments.shipment_event_id), (unpaid_shipments.payment_event_id)
    ) as involved (event_id)

)

select * from final
