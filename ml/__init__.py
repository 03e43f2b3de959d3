"""Demand forecasting stage: features, models, backtests, MLflow tracking, write-back.

The entry point is :func:`ml.forecast.run_forecast`; it reads ``marts.fct_daily_demand``
and writes ``ml.demand_forecasts`` and ``ml.forecast_runs``.
"""
