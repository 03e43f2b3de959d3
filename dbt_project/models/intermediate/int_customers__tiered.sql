-- Each customer's tier from their lifetime net order value (orders not cancelled), by
-- the thresholds of seeds/customer_tiers.csv: the highest tier whose minimum they reach.
with

orders as (

    select * from {{ ref('fct_order_current_status') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

lifetime_values as (

    select
        customer_id,
        count(*) filter (where canonical_status is distinct from 'cancelled') as order_count,
        coalesce(
            sum(total_net_amount) filter (where canonical_status is distinct from 'cancelled'),
            0
        ) as lifetime_net_amount

    from orders
    where customer_id is not null
    group by customer_id

),

ranked as (

    select
        lifetime_values.customer_id,
        lifetime_values.order_count,
        lifetime_values.lifetime_net_amount,
        tiers.customer_tier,
        row_number() over (
            partition by lifetime_values.customer_id
            order by tiers.min_lifetime_net_amount desc
        ) as rank_from_top

    from lifetime_values
    inner join tiers
        on lifetime_values.lifetime_net_amount >= tiers.min_lifetime_net_amount

),

final as (

    select
        customer_id,
        customer_tier,
        order_count,
        lifetime_net_amount

    from ranked
    where rank_from_top = 1

)

select * from final
