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
        model_name,
        model_version,
        run_id,
        created_at

    from forecasts

)

select * from final
