"""MLflow tracking of the forecast: one parent run per backtest, children per family and window.

Layout of one training run in the experiment :data:`EXPERIMENT`:

- the **parent run** carries the run's parameters, the headline metrics (the served
  forecast's and seasonal naive's MAE, MASE, WAPE, interval coverage, the promotion
  decision's numbers), the data snapshot hash as the tag ``data_snapshot_hash``, the
  per-series metrics of every family and window as ONE parquet artifact
  (:data:`PER_SERIES_ARTIFACT`), the accuracy table per level, the plots (PNG, ``plots/``)
  and the fitted pipeline, registered as ``orderhub-demand`` (:mod:`ml.registry`);
- one **child run per model family and backtest window** carries that family's metrics on
  that window, per level — never a run per series
  (docs/architecture.md#one-mlflow-run-per-series-is-slow).

The tracking URI comes from the caller. Local stores (``sqlite:``, ``file:``) get
the experiment's artifacts under the given folder. MLflow's fluent API keeps its
tracking URI in process-wide state, so :class:`Tracker` sets it only for the
duration of a run (or :meth:`Tracker.session`), under a lock, and restores the previous
one. The model registry is the tracking store unless the process names another
(``MLFLOW_REGISTRY_URI``).
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from orderhub.settings import disable_telemetry

disable_telemetry()

import mlflow  # noqa: E402  (telemetry must be off before MLflow is imported)
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

if TYPE_CHECKING:
    from ml.engine import BacktestReport

EXPERIMENT = "orderhub-demand-forecast"
PER_SERIES_ARTIFACT = "per_series_metrics.parquet"
ACCURACY_ARTIFACT = "accuracy_by_level.parquet"
PLOTS_FOLDER = "plots"
SNAPSHOT_TAG = "data_snapshot_hash"
_LOCAL_SCHEMES = ("sqlite:", "file:")
_MLFLOW_LOCK = threading.RLock()


def quiet_mlflow() -> None:
    """Keep MLflow's (and its database migrations') chatter out of the logs."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def is_local_store(tracking_uri: str) -> bool:
    """True for stores on this machine (SQLite, file), False for a tracking server."""
    return tracking_uri.startswith(_LOCAL_SCHEMES) or "://" not in tracking_uri


class TrackedRun:
    """Handle on an open parent run: log the backtest, metrics, tables and plots."""

    def __init__(self, client: MlflowClient, experiment_id: str, run_id: str) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.run_id = run_id
        self.child_run_ids: dict[tuple[str, str], str] = {}

    def log_backtest(self, report: BacktestReport, series: pd.DataFrame | None = None) -> None:
        """One child run per family and window (its metrics per level), and the per-series
        metrics of every family and window as one parquet artifact on the parent.

        ``series`` (``unique_id, sku, store_id, region``) labels the SKU rows.
        """
        table = per_series_metrics(report)
        for (family, cutoff), part in table.groupby(["family", "cutoff"], sort=True):
            self._child(family, pd.Timestamp(cutoff), part, report)
        if series is not None:
            table = table.merge(series, on="unique_id", how="left", validate="m:1")
        self.log_table(PER_SERIES_ARTIFACT, table)
        self.log_table(ACCURACY_ARTIFACT, report.accuracy)

    def _child(self, family: str, cutoff: pd.Timestamp, part: pd.DataFrame, report) -> None:
        role = "evaluation" if cutoff in report.evaluation_cutoffs else "selection"
        name = f"{family} @ {cutoff:%Y-%m-%d}"
        child = self.client.create_run(
            self.experiment_id,
            run_name=name,
            tags={
                "mlflow.parentRunId": self.run_id,
                "model_family": family,
                "window_cutoff": f"{cutoff:%Y-%m-%d}",
                "window_role": role,
            },
        )
        now = int(time.time() * 1000)
        metrics = []
        for level, rows in part.groupby("level", sort=False):
            abs_error, actual = rows["abs_error"].sum(), rows["actual"].sum()
            metrics.append(Metric(f"{level}_mae", float(abs_error / rows["points"].sum()), now, 0))
            if actual > 0:
                metrics.append(Metric(f"{level}_wape", float(abs_error / actual), now, 0))
        params = [
            Param("family", family),
            Param("cutoff", f"{cutoff:%Y-%m-%d}"),
            Param("horizon", str(report.plan.horizon)),
            Param("role", role),
        ]
        self.client.log_batch(child.info.run_id, metrics=metrics, params=params)
        self.client.set_terminated(child.info.run_id, "FINISHED")
        self.child_run_ids[(family, f"{cutoff:%Y-%m-%d}")] = child.info.run_id

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Headline metrics on the parent run (NaN and None are left out)."""
        now = int(time.time() * 1000)
        batch = [
            Metric(k, float(v), now, 0)
            for k, v in metrics.items()
            if v is not None and v == v  # NaN != NaN
        ]
        self.client.log_batch(self.run_id, metrics=batch)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_table(self, name: str, table: pd.DataFrame) -> None:
        """``table`` as the parquet artifact ``name`` of the parent run."""
        with tempfile.TemporaryDirectory(prefix="orderhub-ml-") as folder:
            path = Path(folder) / name
            table.to_parquet(path, index=False)
            self.client.log_artifact(self.run_id, str(path))

    def log_png(self, name: str, png: bytes) -> None:
        """A PNG image as the artifact ``plots/<name>`` of the parent run."""
        with tempfile.TemporaryDirectory(prefix="orderhub-ml-") as folder:
            path = Path(folder) / name
            path.write_bytes(png)
            self.client.log_artifact(self.run_id, str(path), artifact_path=PLOTS_FOLDER)


def per_series_metrics(report: BacktestReport) -> pd.DataFrame:
    """``unique_id, level, family, cutoff, points, actual, forecast, abs_error, mae`` for
    every id, candidate (and the chosen and reconciled forecasts) and window."""
    frame = report.predictions
    families = [c for c in frame.columns if c in report.all_forecasts()]
    long = frame.melt(
        id_vars=["unique_id", "level", "cutoff", "y"],
        value_vars=families,
        var_name="family",
        value_name="y_hat",
    ).dropna(subset=["y_hat"])
    long["abs_error"] = (long["y"] - long["y_hat"]).abs()
    grouped = long.groupby(["unique_id", "level", "family", "cutoff"], sort=True, observed=True)
    table = grouped.agg(
        points=("y", "size"),
        actual=("y", "sum"),
        forecast=("y_hat", "sum"),
        abs_error=("abs_error", "sum"),
    ).reset_index()
    table["mae"] = table["abs_error"] / table["points"]
    return table


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
    def session(self) -> Iterator[MlflowClient]:
        """This store as the process' MLflow store (for the registry's fluent calls)."""
        with self._uris():
            yield self.client

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
