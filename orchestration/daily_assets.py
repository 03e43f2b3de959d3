"""The daily-partitioned assets: one day's published demand and the forecast as of that day.

The full flow (``orderhub_full_flow``) stays unpartitioned up to the publish and serves the
API's forecast; these two assets sit beside it, partitioned by UTC day from
:data:`DAILY_START` to the last complete day, in their own job ``demand_forecast_daily``:

- ``ml/daily_demand`` (partition = ``demand_date``): the published ``fct_daily_demand`` rows
  of the day, snapshot into ``ml.daily_demand`` (:func:`ml.as_of.snapshot_day`);
- ``ml/forecast_as_of`` (partition = the as-of day, after that day's demand): the forecast
  the day would have had, the demand cut at the day, served by the champion the full flow
  keeps, into ``ml.forecast_as_of`` (:func:`ml.as_of.forecast_as_of`).

Its schedule requests the last complete day after midnight UTC; a backfill over past days
(the UI's Materialize > backfill, ``dagster job backfill -j demand_forecast_daily``, or
``orderhub forecast backfill --from --to``) builds the history of what each day would have
forecast. Re-running a partition replaces that day's rows only.
"""

from datetime import date

import psycopg
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
)

from ml.as_of import forecast_as_of, snapshot_day
from orchestration.dbt_assets import model_key
from orchestration.forecast_assets import FORECAST_KEY
from orchestration.freshness import policy
from orchestration.resources import WarehouseResource
from orderhub.settings import get_settings

#: The first day a partition exists for.
DAILY_START = "2024-01-01"
DAILY = DailyPartitionsDefinition(start_date=DAILY_START, timezone="UTC")
DAILY_DEMAND_KEY = AssetKey(["ml", "daily_demand"])
FORECAST_AS_OF_KEY = AssetKey(["ml", "forecast_as_of"])
DAILY_KEYS = (DAILY_DEMAND_KEY, FORECAST_AS_OF_KEY)


def partition_day(context: AssetExecutionContext) -> date:
    """The day of the run's partition."""
    return date.fromisoformat(context.partition_key)


@asset(
    key=DAILY_DEMAND_KEY,
    partitions_def=DAILY,
    deps=[model_key("fct_daily_demand")],
    group_name="forecast",
    kinds={"postgres"},
    owners=["team:data-platform"],
    freshness_policy=policy("forecast"),
    description=(
        "The published daily demand per SKU x store of one day (marts.fct_daily_demand), "
        "snapshot into ml.daily_demand; one daily partition per demand date."
    ),
)
def daily_demand(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    day = partition_day(context)
    with psycopg.connect(warehouse.url()) as conn:
        snapshot = snapshot_day(conn, day)
    context.log.info(f"demand of {day}: {snapshot.rows} rows, {snapshot.units:g} units")
    return MaterializeResult(
        metadata={
            "demand_date": day.isoformat(),
            "rows": snapshot.rows,
            "units": snapshot.units,
            "snapshot_hash": snapshot.snapshot_hash,
        }
    )


@asset(
    key=FORECAST_AS_OF_KEY,
    partitions_def=DAILY,
    deps=[DAILY_DEMAND_KEY, FORECAST_KEY],
    group_name="forecast",
    kinds={"mlflow", "postgres"},
    owners=["team:data-platform"],
    freshness_policy=policy("forecast"),
    description=(
        "The forecast as of one day: the demand up to that day (nothing later read), "
        "forecast by the MLflow champion into ml.forecast_as_of; a backfill over past days "
        "is the champion's backtest history."
    ),
)
def forecast_as_of_day(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    day = partition_day(context)
    result = forecast_as_of(warehouse.url(), get_settings(), day, progress=context.log.info)
    return MaterializeResult(
        metadata={
            "as_of": day.isoformat(),
            "data_through": result.data_through.isoformat(),
            "model_version": result.model_version,
            "run_id": result.run_id,
            "series": result.series,
            "rows_written": result.rows_written,
            "data_snapshot_hash": result.data_snapshot_hash,
        }
    )


DAILY_ASSETS = [daily_demand, forecast_as_of_day]
