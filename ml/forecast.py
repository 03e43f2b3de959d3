"""Entry point of the forecast stage: demand mart in, the champion's forecast out.

:func:`run_forecast`:

1. reads ``marts.fct_daily_demand`` into a panel and loads the ``champion`` (if any);
2. **monitors**: realised demand against what was forecast, per day and level, and raises
   drift rows (:mod:`ml.monitoring`);
3. **trains** a challenger when there is no champion, when drift is open, when the data
   moved ``retrain_every_days`` past what the champion trained on, or when told to: the
   rolling-origin backtest (:mod:`ml.engine`), tracked in MLflow (one parent run, children
   per family and window, plots), registered as the ``challenger``, compared with the
   champion on the same windows and promoted only if it wins (:mod:`ml.promotion`);
4. **serves**: the champion forecasts every series from the latest history, with 80 % and
   95 % intervals, and replaces ``ml.demand_forecasts`` in one transaction.

Problems with the data raise :class:`ForecastError` before anything is written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from ml.errors import ForecastError
from ml.features import DEMAND_TABLE, DemandPanel, load_panel
from orderhub.settings import Settings, disable_telemetry
from orderhub.warehouse import connect

if TYPE_CHECKING:
    from ml.monitoring import DriftPolicy
    from ml.pipeline import EngineConfig, FittedPipeline
    from ml.store import RunRecord
    from ml.training import Training

__all__ = ["ForecastError", "ForecastResult", "RetrainPolicy", "run_forecast"]

LOGGER = logging.getLogger("ml.forecast")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrainPolicy:
    """When a run trains a challenger rather than only serving the champion."""

    retrain_every_days: int = 7
    force: bool = False


@dataclass(frozen=True)
class ForecastResult:
    """What one forecast run did: the serving model, the training (if any), the output."""

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
    model_mase: float | None = None
    baseline_mase: float | None = None
    coverage_80: float | None = None
    coverage_95: float | None = None
    trained: bool = True
    challenger_version: str | None = None
    promoted: bool | None = None
    decision: str | None = None
    data_through: Any = None
    promotion: dict[str, Any] | None = None
    drift_raised: int = 0
    accuracy_days: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, record: RunRecord, rows_written: int, **extra: Any) -> ForecastResult:
        """The result of the run ``record`` describes, which wrote ``rows_written`` rows."""
        shared = {k: v for k, v in asdict(record).items() if k != "created_at"}
        return cls(**shared, rows_written=rows_written, **extra)


def _no_progress(message: str) -> None:
    return None


def run_forecast(
    database_url: str,
    settings: Settings,
    horizon_days: int | None = None,
    progress: Progress | None = None,
    *,
    config: EngineConfig | None = None,
    table: str = DEMAND_TABLE,
    policy: RetrainPolicy | None = None,
    drift: DriftPolicy | None = None,
) -> ForecastResult:
    """Monitor, train when needed, and write the champion's forecast (see the module).

    ``horizon_days`` defaults to ``settings.forecast_horizon_days``; MLflow is
    ``settings.mlflow_uri`` (artifacts under ``settings.mlflow_artifact_dir`` for a local
    store). ``progress`` receives one line per step.
    """
    disable_telemetry()
    say = progress or _no_progress
    horizon = horizon_days if horizon_days is not None else settings.forecast_horizon_days
    if horizon < 1:
        raise ForecastError(f"the forecast horizon must be at least one day, not {horizon}")
    # The model stack loads here, not when orchestration imports this module.
    from ml.monitoring import DriftPolicy
    from ml.pipeline import EngineConfig
    from ml.training import Training

    config = replace(config or EngineConfig(), horizon=horizon)
    policy = policy or RetrainPolicy(retrain_every_days=settings.forecast_retrain_days)
    say(f"loading {table}")
    with connect(database_url, autocommit=True) as conn:
        panel = load_panel(conn, table)
    say(
        f"loaded {panel.source_rows} rows: {panel.n_series} series x {panel.n_days} days "
        f"({panel.start} to {panel.end}), snapshot {panel.snapshot_hash[:12]}"
    )
    training = Training(settings, config, say)
    champion = training.champion()
    raised, accuracy_days, open_rows = _monitor(
        database_url, panel, champion, drift or DriftPolicy(), say
    )
    reason = _retrain_reason(champion, panel, policy, open_rows)
    trained = None
    if reason is not None:
        say(f"training a challenger: {reason}")
        trained = training.train(panel, champion)
        champion = trained.serving
    assert champion is not None
    result = _serve(database_url, panel, champion, config, trained, table, say)
    return replace(result, drift_raised=raised, accuracy_days=accuracy_days)


def _monitor(
    database_url: str,
    panel: DemandPanel,
    champion: tuple[str, FittedPipeline] | None,
    drift: DriftPolicy,
    say: Progress,
) -> tuple[int, int, int]:
    """Realised accuracy and drift; (drift rows raised, days evaluated, open drift rows)."""
    from ml.monitoring import (
        detect_drift,
        open_drift,
        raise_drift,
        realised_accuracy,
        store_accuracy,
    )
    from ml.store import ensure_schema

    with connect(database_url) as conn:
        ensure_schema(conn)
        accuracy = realised_accuracy(conn, panel)
        raised, days = 0, 0
        if not accuracy.empty:
            store_accuracy(conn, accuracy)
            days = int(accuracy["demand_date"].nunique())
            say(f"monitoring: realised vs forecast on {days} new day(s)")
        if champion is not None:
            alerts = detect_drift(conn, champion[1].expected_wape, drift)
            raised = raise_drift(conn, alerts, champion[0])
            for alert in alerts:
                say(
                    f"drift: {alert.level} {alert.metric} {alert.observed:.3f} beyond "
                    f"{alert.threshold:.3f} ({alert.window_start} to {alert.window_end})"
                )
        open_rows = open_drift(conn)
        conn.commit()
    return raised, days, open_rows


def _retrain_reason(
    champion: tuple[str, FittedPipeline] | None,
    panel: DemandPanel,
    policy: RetrainPolicy,
    open_drift_rows: int,
) -> str | None:
    """Why this run trains, or None when the champion only serves."""
    if champion is None:
        return "no champion yet"
    if policy.force:
        return "asked to"
    if open_drift_rows:
        return f"{open_drift_rows} open drift row(s)"
    age = (panel.end - champion[1].trained_through).days
    if age >= policy.retrain_every_days:
        return f"the champion trained on data {age} day(s) older"
    return None


def champion_rows(panel: DemandPanel, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The SKU x store rows of a pipeline forecast, in the write-back's columns."""
    from ml.pipeline import bottom_only

    out = bottom_only(forecasts).merge(panel.series, on="unique_id", how="left", validate="m:1")
    return pd.DataFrame(
        {
            "sku": out["sku"],
            "store_id": out["store_id"],
            "region": out["region"],
            "forecast_date": out["ds"].dt.date,
            "units_forecast": out["y_hat"].astype(float),
            "units_lower_80": out["lo_80"].astype(float),
            "units_upper_80": out["hi_80"].astype(float),
            "units_lower_95": out["lo_95"].astype(float),
            "units_upper_95": out["hi_95"].astype(float),
        }
    )


def _serve(
    database_url: str,
    panel: DemandPanel,
    champion: tuple[str, FittedPipeline],
    config: EngineConfig,
    trained: Training.Outcome | None,
    table: str,
    say: Progress,
) -> ForecastResult:
    """The champion's forecast from the latest history, written with the run's record."""
    from ml.monitoring import answer_drift
    from ml.registry import REGISTERED_MODEL
    from ml.store import FORECASTS_TABLE, RunRecord, replace_forecasts

    version, pipeline = champion
    say(f"forecasting {config.horizon} days with the champion, v{version}")
    rows = champion_rows(panel, pipeline.forecast(panel, config.horizon))
    metrics = pipeline.backtest
    run_id = trained.run_id if trained else f"serve-{uuid.uuid4().hex[:16]}"
    record = RunRecord(
        run_id=run_id,
        created_at=datetime.now(UTC),
        model_name=REGISTERED_MODEL,
        model_version=version,
        horizon_days=config.horizon,
        series=panel.n_series,
        model_mae=metrics.get("model_mae", float("nan")),
        baseline_mae=metrics.get("baseline_mae", float("nan")),
        model_wape=metrics.get("model_wape", float("nan")),
        baseline_wape=metrics.get("baseline_wape", float("nan")),
        data_snapshot_hash=panel.snapshot_hash,
        model_mase=metrics.get("model_mase"),
        baseline_mase=metrics.get("baseline_mase"),
        coverage_80=metrics.get("coverage_80"),
        coverage_95=metrics.get("coverage_95"),
        trained=trained is not None,
        challenger_version=trained.challenger_version if trained else None,
        promoted=trained.decision.promoted if trained else None,
        decision=trained.decision.reason if trained else None,
        data_through=panel.end,
    )
    say(f"writing {len(rows)} rows to {FORECASTS_TABLE}")
    with connect(database_url) as conn:
        written = replace_forecasts(conn, rows, record)
        if trained is not None:
            answer_drift(conn, run_id)
        conn.commit()
    say(f"done: run {run_id}, {REGISTERED_MODEL} v{version} serving, {written} rows")
    return ForecastResult.of(
        record,
        written,
        promotion=trained.decision.record() if trained else None,
        metrics=dict(metrics),
    )
