with

demand as (

    select * from {{ ref('fct_daily_demand') }}

),

final as (

    select
        sku,
        store_id,
        region,
        demand_date,
        units,
        orders,
        net_amount,
        returned_units,
        country,
        on_promotion

    from demand

)

select * from final
