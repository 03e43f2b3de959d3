"""The demand forecast asset: train, backtest against seasonal naive, register, write back.

Records a ``model_training`` provenance event naming the MLflow run, the
registered model version and the hash of the data it trained on.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from ml.forecast import run_forecast
from orchestration.dbt_assets import model_key
from orchestration.provenance import model_training_event
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.settings import get_settings

FORECAST_KEY = AssetKey(["ml", "demand_forecasts"])


@asset(
    key=FORECAST_KEY,
    deps=[model_key("fct_daily_demand")],
    group_name="forecast",
    kinds={"mlflow", "lightgbm", "postgres"},
    owners=["team:data-platform"],
    description=(
        "Daily demand forecast per SKU x store, from a global LightGBM model backtested "
        "against seasonal naive; tracked and registered in MLflow."
    ),
)
def demand_forecasts(
    context: AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> MaterializeResult:
    url = warehouse.url()
    result = run_forecast(url, get_settings(), progress=context.log.info)
    index = ledger.log(url).append_event("model_training", model_training_event(result))
    context.log.info(f"forecast run {result.run_id}: provenance leaf {index}")
    return MaterializeResult(
        metadata={
            "mlflow_run_id": result.run_id,
            "model_version": result.model_version,
            "series": result.series,
            "rows_written": result.rows_written,
            "model_mae": result.model_mae,
            "baseline_mae": result.baseline_mae,
        }
    )
