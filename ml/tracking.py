"""MLflow tracking and registry for the forecast: one parent run per backtest.

Layout of one forecast run in the experiment :data:`EXPERIMENT`:

- the **parent run** carries the run's parameters, the headline metrics (model and
  baseline MAE/WAPE), the data snapshot hash as the tag ``data_snapshot_hash``, and
  the final model (refit on all data), registered as :data:`REGISTERED_MODEL`;
- one **child run per model family** carries that family's parameters, its overall
  metrics, per-window metrics (as steps of ``window_mae``/``window_wape``) and its
  per-series metrics as ONE parquet artifact (:data:`PER_SERIES_ARTIFACT`) — never a
  run per series (thousands of runs would swamp the tracking server).

The tracking URI comes from the caller. Local stores (``sqlite:``, ``file:``) get
the experiment's artifacts under the given folder. MLflow's fluent API keeps its
tracking URI in process-wide state, so :class:`Tracker` sets it only for the
duration of a run, under a lock, and restores the previous one. The model registry
is the tracking store unless the process names another (``MLFLOW_REGISTRY_URI``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from orderhub.settings import disable_telemetry

disable_telemetry()

import mlflow  # noqa: E402  (telemetry must be off before MLflow is imported)
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models import ModelSignature  # noqa: E402
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode  # noqa: E402
from mlflow.pyfunc import PythonModel  # noqa: E402
from mlflow.types import ColSpec, Schema  # noqa: E402

from ml.backtest import BacktestResult  # noqa: E402
from ml.models import LightGBMForecaster  # noqa: E402

EXPERIMENT = "orderhub-demand-forecast"
REGISTERED_MODEL = "orderhub-demand"
PER_SERIES_ARTIFACT = "per_series_metrics.parquet"
SNAPSHOT_TAG = "data_snapshot_hash"
MODEL_ARTIFACT = "model"
#: Packages the registered model needs to load (pinned to what trained it).
MODEL_REQUIREMENTS = (
    "mlflow",
    "mlforecast",
    "lightgbm",
    "scikit-learn",
    "pandas",
    "numpy",
    "cloudpickle",
)
_LOCAL_SCHEMES = ("sqlite:", "file:")
_MLFLOW_LOCK = threading.RLock()


def quiet_mlflow() -> None:
    """Keep MLflow's (and its database migrations') chatter out of the logs."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def _quiet_model_logging() -> Iterator[None]:
    """Silence what ``log_model`` says about every model of this kind.

    It warns that a Python object is pickled (the wrapper is our own class) and that
    ``pip`` is missing (uv environments have none); neither is news.
    """
    loggers = [logging.getLogger(n) for n in ("mlflow.pyfunc", "mlflow.utils.environment")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def is_local_store(tracking_uri: str) -> bool:
    """True for stores on this machine (SQLite, file), False for a tracking server."""
    return tracking_uri.startswith(_LOCAL_SCHEMES) or "://" not in tracking_uri


def model_requirements() -> list[str]:
    """Pinned pip requirements of the registered model (no inference, no network)."""
    pins = []
    for package in MODEL_REQUIREMENTS:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pins.append(package)
    return pins


class DemandModel(PythonModel):
    """The registered forecaster: a fitted global LightGBM model over known series.

    Input: a frame with ``unique_id`` (``"<sku>|<store_id>"``) and ``h`` (days ahead);
    the largest ``h`` applies to all rows. Output: ``unique_id, ds, units_forecast``.
    """

    def __init__(self, forecaster: LightGBMForecaster, series: pd.DataFrame) -> None:
        self.forecaster = forecaster
        self.series = series[["unique_id", "sku", "store_id", "region"]].copy()

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        h = int(model_input["h"].max())
        ids = sorted(set(model_input["unique_id"].astype(str)))
        unknown = sorted(set(ids) - set(self.series["unique_id"]))
        if unknown:
            raise ValueError(f"unknown series: {', '.join(unknown[:5])}")
        out = self.forecaster.predict(h, ids=ids)
        return out.rename(columns={"y_hat": "units_forecast"})


SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "unique_id"), ColSpec("long", "h")]),
    outputs=Schema(
        [
            ColSpec("string", "unique_id"),
            ColSpec("datetime", "ds"),
            ColSpec("double", "units_forecast"),
        ]
    ),
)


class TrackedRun:
    """Handle on an open parent run: log families and metrics, register the model."""

    def __init__(self, client: MlflowClient, experiment_id: str, run_id: str) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.run_id = run_id
        self.child_run_ids: dict[str, str] = {}

    def log_family(self, result: BacktestResult, series: pd.DataFrame | None = None) -> str:
        """A child run for one model family's backtest; returns its run id.

        ``series`` (``unique_id, sku, store_id, region``) labels the per-series table.
        """
        child = self.client.create_run(
            self.experiment_id,
            run_name=result.family,
            tags={"mlflow.parentRunId": self.run_id, "model_family": result.family},
        )
        run_id = child.info.run_id
        now = int(time.time() * 1000)
        metrics = [
            Metric("mae", float(result.mae), now, 0),
            Metric("wape", float(result.wape), now, 0),
            Metric("points", float(len(result.predictions)), now, 0),
        ]
        for step, row in enumerate(result.per_window.itertuples(index=False)):
            metrics.append(Metric("window_mae", float(row.mae), now, step))
            metrics.append(Metric("window_wape", float(row.wape), now, step))
        params = {
            **{f"model.{k}": v for k, v in result.params.items()},
            "backtest.horizon": result.plan.horizon,
            "backtest.windows": result.plan.n_windows,
            "backtest.step": result.plan.step,
            "backtest.cutoffs": ",".join(f"{c:%Y-%m-%d}" for c in result.plan.cutoffs),
        }
        self.client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param(k, str(v)) for k, v in params.items()],
            tags=[RunTag("mlflow.runName", result.family)],
        )
        with tempfile.TemporaryDirectory(prefix="orderhub-ml-") as folder:
            path = Path(folder) / PER_SERIES_ARTIFACT
            table = result.per_series.assign(model_family=result.family)
            if series is not None:
                table = series.merge(table, on="unique_id", how="right", validate="1:1")
            table.to_parquet(path, index=False)
            self.client.log_artifact(run_id, str(path))
        self.client.set_terminated(run_id, "FINISHED")
        self.child_run_ids[result.family] = run_id
        return run_id

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Headline metrics on the parent run."""
        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()]
        )

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def register_model(
        self,
        forecaster: LightGBMForecaster,
        series: pd.DataFrame,
        name: str = REGISTERED_MODEL,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log the fitted model on the parent run and register it as ``name``; its version."""
        with _quiet_model_logging():
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=DemandModel(forecaster, series),
                signature=SIGNATURE,
                pip_requirements=model_requirements(),
            )
        try:
            self.client.create_registered_model(
                name, description="Daily demand per SKU x store (orderhub ml stage)."
            )
        except MlflowException as exc:
            if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
        created = self.client.create_model_version(
            name,
            source=info.model_uri,
            run_id=self.run_id,
            model_id=info.model_id,
            tags=dict(tags or {}),
        )
        return str(created.version)


class Tracker:
    """Tracks forecast runs in one MLflow store.

    ``artifact_location`` (a folder) is used when the experiment is created in a
    local store; a tracking server decides on its own.
    """

    def __init__(
        self,
        tracking_uri: str,
        artifact_location: Path | None = None,
        experiment: str = EXPERIMENT,
    ) -> None:
        disable_telemetry()
        quiet_mlflow()
        self.tracking_uri = tracking_uri
        self.artifact_location = artifact_location
        self.experiment = experiment
        if is_local_store(tracking_uri):
            with warnings.catch_warnings():
                # MLflow's SQL store trips a SQLAlchemy deprecation warning on import.
                warnings.simplefilter("ignore", DeprecationWarning)
                import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        self.client = MlflowClient(tracking_uri=tracking_uri)

    def experiment_id(self) -> str:
        """Id of the experiment, created (with the artifact location) if missing."""
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        location = None
        if self.artifact_location is not None and is_local_store(self.tracking_uri):
            location = Path(self.artifact_location).resolve().as_uri()
        return self.client.create_experiment(self.experiment, artifact_location=location)

    @contextmanager
    def _uris(self) -> Iterator[None]:
        with _MLFLOW_LOCK:
            previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
            mlflow.set_tracking_uri(self.tracking_uri)
            try:
                yield
            finally:
                mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]

    @contextmanager
    def run(
        self,
        *,
        run_name: str,
        snapshot_hash: str,
        params: Mapping[str, Any],
        tags: Mapping[str, str] | None = None,
    ) -> Iterator[TrackedRun]:
        """Open the parent run; it ends FINISHED, or FAILED if the block raises."""
        with self._uris():
            experiment_id = self.experiment_id()
            with mlflow.start_run(
                experiment_id=experiment_id,
                run_name=run_name,
                tags={SNAPSHOT_TAG: snapshot_hash, **(tags or {})},
            ) as active:
                run_id = active.info.run_id
                self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
                yield TrackedRun(self.client, experiment_id, run_id)
