"""The demand forecast asset: monitor, train a challenger when needed, serve the champion.

When the run trained (no champion yet, open drift, the champion's data too old), it
records a ``model_training`` provenance event naming the MLflow run, the registered
version and the hash of the data it trained on, and a ``model_promotion`` event with the
champion/challenger decision and its numbers. A run that only served the champion records
neither: the forecast table's rows name the serving version and the run.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from ml.forecast import run_forecast
from orchestration import wap
from orchestration.dbt_assets import model_key
from orchestration.freshness import policy
from orchestration.provenance import model_promotion_event, model_training_event
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.settings import get_settings

FORECAST_KEY = AssetKey(["ml", "demand_forecasts"])


@asset(
    key=FORECAST_KEY,
    deps=[model_key("fct_daily_demand")],
    group_name="forecast",
    kinds={"mlflow", "lightgbm", "postgres"},
    owners=["team:data-platform"],
    freshness_policy=policy("forecast"),
    description=(
        "Daily demand forecast per SKU x store with 80%/95% intervals, served by the MLflow "
        "champion; a challenger (statsforecast, LightGBM, ensemble, chosen per series by "
        "rolling-origin backtest, reconciled SKU -> store -> region -> total) is trained when "
        "drift or age asks, and promoted only if it beats the champion significantly."
    ),
)
def demand_forecasts(
    context: AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> MaterializeResult:
    url = warehouse.url()
    # the demand just built (the colour not yet published): the forecast the api serves is
    # the champion's, switched by the champion/challenger decision (ml/promotion.py)
    demand = f"{wap.colours(url)[0].marts}.fct_daily_demand"
    result = run_forecast(url, get_settings(), progress=context.log.info, table=demand)
    metadata = {
        "mlflow_run_id": result.run_id,
        "model_version": result.model_version,
        "trained": result.trained,
        "series": result.series,
        "rows_written": result.rows_written,
        "model_mae": result.model_mae,
        "baseline_mae": result.baseline_mae,
        "drift_raised": result.drift_raised,
    }
    if result.trained:
        log = ledger.log(url)
        training = log.append_event("model_training", model_training_event(result))
        promotion = log.append_event("model_promotion", model_promotion_event(result))
        context.log.info(
            f"forecast run {result.run_id}: provenance leaves {training} (training), "
            f"{promotion} (promotion: {result.decision})"
        )
        metadata["challenger_version"] = result.challenger_version or ""
        metadata["promoted"] = bool(result.promoted)
    return MaterializeResult(metadata=metadata)
