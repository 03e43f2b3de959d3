with

forecasts as (

    select * from {{ source('ml', 'demand_forecasts') }}

),

final as (

    select
        sku,
        store_id,
        region,
        forecast_date,
        units_forecast,
        units_lower_80,
        units_upper_80,
        units_lower_95,
        units_upper_95,
        model_name,
        model_alias,
        model_version,
        run_id,
        created_at

    from forecasts

)

select * from final
