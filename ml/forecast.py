"""Entry point of the forecast stage: demand mart in, backtested forecast out.

:func:`run_forecast` reads ``marts.fct_daily_demand``, backtests the global LightGBM
model against the seasonal-naive baseline (rolling origin), refits the model on all
data, tracks everything in MLflow (registering the model as ``orderhub-demand``)
and replaces ``ml.demand_forecasts`` in one transaction. Problems with the data
raise :class:`ForecastError` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from ml.errors import ForecastError
from ml.features import DEMAND_TABLE, DemandPanel, load_panel
from orderhub.settings import Settings, disable_telemetry
from orderhub.warehouse import connect

if TYPE_CHECKING:
    from ml.backtest import BacktestResult, WindowPlan
    from ml.models import LightGBMForecaster, ModelConfig
    from ml.store import RunRecord

__all__ = ["ForecastError", "ForecastResult", "run_forecast"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ForecastResult:
    """What one forecast run did: its MLflow run, model version, metrics and output."""

    run_id: str
    model_name: str
    model_version: str
    series: int
    horizon_days: int
    model_mae: float
    baseline_mae: float
    model_wape: float
    baseline_wape: float
    rows_written: int
    data_snapshot_hash: str

    @classmethod
    def of(cls, record: RunRecord, rows_written: int) -> ForecastResult:
        """The result of the run ``record`` describes, which wrote ``rows_written`` rows."""
        shared = {k: v for k, v in asdict(record).items() if k != "created_at"}
        return cls(**shared, rows_written=rows_written)


def _no_progress(message: str) -> None:
    return None


def forecast_frame(forecaster: LightGBMForecaster, panel: DemandPanel, h: int) -> pd.DataFrame:
    """The fitted model's next ``h`` days per series, keyed by sku, store and region."""
    out = forecaster.predict(h).merge(panel.series, on="unique_id", how="left", validate="m:1")
    return pd.DataFrame(
        {
            "sku": out["sku"],
            "store_id": out["store_id"],
            "region": out["region"],
            "forecast_date": out["ds"].dt.date,
            "units_forecast": out["y_hat"].astype(float),
        }
    )


@dataclass(frozen=True)
class _Fitted:
    """What a run computed before anything is tracked or written."""

    table: str
    horizon: int
    panel: DemandPanel
    plan: WindowPlan
    model_bt: BacktestResult
    baseline_bt: BacktestResult
    final: LightGBMForecaster
    forecasts: pd.DataFrame

    def params(self) -> dict[str, object]:
        """The MLflow run's parameters: data, backtest plan, model families and settings."""
        from ml.models import LIGHTGBM, SEASONAL_NAIVE

        panel, plan = self.panel, self.plan
        return {
            "table": self.table,
            "horizon_days": self.horizon,
            "series": panel.n_series,
            "history_days": panel.n_days,
            "history_start": panel.start.isoformat(),
            "history_end": panel.end.isoformat(),
            "source_rows": panel.source_rows,
            "backtest_windows": plan.n_windows,
            "backtest_horizon": plan.horizon,
            "backtest_step": plan.step,
            "model_family": LIGHTGBM,
            "baseline_family": SEASONAL_NAIVE,
            **{f"model.{k}": v for k, v in self.final.params().items()},
        }

    def metrics(self) -> dict[str, float]:
        """The backtest metrics of the model and of the baseline."""
        return {
            "model_mae": self.model_bt.mae,
            "baseline_mae": self.baseline_bt.mae,
            "model_wape": self.model_bt.wape,
            "baseline_wape": self.baseline_bt.wape,
        }


def run_forecast(
    database_url: str,
    settings: Settings,
    horizon_days: int | None = None,
    progress: Progress | None = None,
    *,
    config: ModelConfig | None = None,
    table: str = DEMAND_TABLE,
) -> ForecastResult:
    """Backtest, refit, track, register and write the demand forecast.

    ``horizon_days`` defaults to ``settings.forecast_horizon_days``; MLflow is
    ``settings.mlflow_uri`` (artifacts under ``settings.mlflow_artifact_dir`` for a
    local store). ``progress`` receives one line per step.
    """
    disable_telemetry()
    say = progress or _no_progress
    horizon = horizon_days if horizon_days is not None else settings.forecast_horizon_days
    if horizon < 1:
        raise ForecastError(f"the forecast horizon must be at least one day, not {horizon}")
    fitted = _fit(database_url, table, horizon, config, say)
    record, rows_written = _track_and_write(fitted, database_url, settings, say)
    say(
        f"done: run {record.run_id}, {record.model_name} v{record.model_version}, "
        f"{rows_written} rows"
    )
    return ForecastResult.of(record, rows_written)


def _fit(
    database_url: str, table: str, horizon: int, config: ModelConfig | None, say: Progress
) -> _Fitted:
    """Load the demand panel, backtest the model and the baseline, refit on all data."""
    # The model stack loads here, not when orchestration imports this module.
    from ml.backtest import DEFAULT_STEP, DEFAULT_WINDOWS, backtest, plan_windows
    from ml.models import (
        LIGHTGBM,
        SEASONAL_NAIVE,
        LightGBMForecaster,
        ModelConfig,
        SeasonalNaiveForecaster,
    )

    config = config or ModelConfig()
    say(f"loading {table}")
    with connect(database_url, autocommit=True) as conn:
        panel = load_panel(conn, table)
    say(
        f"loaded {panel.source_rows} rows: {panel.n_series} series x {panel.n_days} days "
        f"({panel.start} to {panel.end}), snapshot {panel.snapshot_hash[:12]}"
    )
    frame = panel.frame
    plan = plan_windows(
        pd.Timestamp(panel.start),
        pd.Timestamp(panel.end),
        horizon,
        n_windows=DEFAULT_WINDOWS,
        step=DEFAULT_STEP,
    )
    say(f"backtesting {LIGHTGBM}: {plan.n_windows} window(s) x {plan.horizon} days")
    model_bt = backtest(frame, partial(LightGBMForecaster, config), plan)
    say(f"backtesting {SEASONAL_NAIVE}: {plan.n_windows} window(s) x {plan.horizon} days")
    baseline_bt = backtest(frame, SeasonalNaiveForecaster, plan)
    say(
        f"backtest MAE {model_bt.mae:.3f} ({LIGHTGBM}) vs {baseline_bt.mae:.3f} "
        f"({SEASONAL_NAIVE}); WAPE {model_bt.wape:.3f} vs {baseline_bt.wape:.3f}"
    )
    say(f"refitting {LIGHTGBM} on all {panel.n_days} days and forecasting {horizon} days")
    final = LightGBMForecaster(config).fit(frame)
    forecasts = forecast_frame(final, panel, horizon)
    return _Fitted(table, horizon, panel, plan, model_bt, baseline_bt, final, forecasts)


def _track_and_write(
    fitted: _Fitted, database_url: str, settings: Settings, say: Progress
) -> tuple[RunRecord, int]:
    """Track ``fitted`` in MLflow, register its model, replace the forecast table; the run's
    record and the rows written."""
    # The MLflow stack loads here, not when orchestration imports this module.
    from ml.store import FORECASTS_TABLE, RunRecord, replace_forecasts
    from ml.tracking import EXPERIMENT, REGISTERED_MODEL, SNAPSHOT_TAG, Tracker, is_local_store

    panel, table = fitted.panel, fitted.table
    created_at = datetime.now(UTC)
    say(f"tracking in MLflow experiment {EXPERIMENT}")
    tracker = Tracker(
        settings.mlflow_uri,
        settings.mlflow_artifact_dir if is_local_store(settings.mlflow_uri) else None,
    )
    with tracker.run(
        run_name=f"forecast-{created_at:%Y%m%dT%H%M%SZ}",
        snapshot_hash=panel.snapshot_hash,
        params=fitted.params(),
        tags={"orderhub.stage": "ml", "orderhub.table": table},
    ) as run:
        run.log_family(fitted.model_bt, panel.series)
        run.log_family(fitted.baseline_bt, panel.series)
        metrics = fitted.metrics()
        run.log_metrics(metrics)
        say(f"registering the model as {REGISTERED_MODEL}")
        model_version = run.register_model(
            fitted.final, panel.series, tags={SNAPSHOT_TAG: panel.snapshot_hash}
        )
        say(f"writing {len(fitted.forecasts)} rows to {FORECASTS_TABLE}")
        record = RunRecord(
            run_id=run.run_id,
            created_at=created_at,
            model_name=REGISTERED_MODEL,
            model_version=model_version,
            horizon_days=fitted.horizon,
            series=panel.n_series,
            data_snapshot_hash=panel.snapshot_hash,
            **metrics,
        )
        with connect(database_url) as conn:
            rows_written = replace_forecasts(conn, fitted.forecasts, record)
        run.set_tags({"orderhub.rows_written": str(rows_written)})
    return record, rows_written
