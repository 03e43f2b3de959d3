"""MLflow in a real local store: one parent run per backtest, a child per family and window,
one per-series parquet, PNG plots, the registered model and its aliases."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml.engine import run_backtest
from ml.features import build_panel
from ml.models import ModelConfig
from ml.pipeline import EngineConfig
from ml.plots import ACCURACY_PLOT, FORECAST_PLOT, all_plots
from ml.registry import (
    CHALLENGER,
    CHAMPION,
    REGISTERED_MODEL,
    alias_version,
    load_pipeline,
    promote,
    register,
)
from ml.synthetic import synthetic_demand
from ml.tracking import (
    ACCURACY_ARTIFACT,
    EXPERIMENT,
    PER_SERIES_ARTIFACT,
    PLOTS_FOLDER,
    SNAPSHOT_TAG,
    Tracker,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def backtest() -> tuple:
    panel = build_panel(synthetic_demand(n_series=4, n_days=90, seed=9))
    config = EngineConfig(n_windows=3, eval_windows=1, gbm=ModelConfig(n_estimators=10))
    report, fitted = run_backtest(panel, config)
    return panel, report, fitted


def test_one_parent_run_children_per_family_and_window_and_one_parquet(
    tmp_path: Path, backtest: tuple
) -> None:
    panel, report, fitted = backtest
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = tmp_path / "artifacts"
    tracker = Tracker(uri, artifacts)
    before = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    with tracker.run(
        run_name="test", snapshot_hash=panel.snapshot_hash, params={"horizon_days": 14}
    ) as run:
        run.log_backtest(report, panel.series[["unique_id", "sku", "store_id", "region"]])
        run.log_metrics({"model_mae": report.headline()["model_mae"], "skipped": float("nan")})
        for name, png in all_plots(report).items():
            run.log_png(name, png)
        version = register(run.client, run.run_id, fitted, {SNAPSHOT_TAG: panel.snapshot_hash})
    after = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    assert after == before  # the process' URI is restored

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.artifact_location == artifacts.resolve().as_uri()
    runs = client.search_runs([experiment.experiment_id])
    families = report.all_forecasts()
    # one parent, one child per forecast family and window: never a run per series
    assert len(runs) == 1 + len(families) * report.plan.n_windows
    parent = client.get_run(run.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[SNAPSHOT_TAG] == panel.snapshot_hash
    assert "skipped" not in parent.data.metrics
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == run.run_id]
    assert {r.data.tags["model_family"] for r in children} == set(families)
    roles = {r.data.tags["window_role"] for r in children}
    assert roles == {"selection", "evaluation"}
    lightgbm = next(r for r in children if r.data.tags["model_family"] == "lightgbm")
    assert "sku_mae" in lightgbm.data.metrics and "store_mae" not in lightgbm.data.metrics

    listed = {a.path for a in client.list_artifacts(run.run_id)}
    assert {PER_SERIES_ARTIFACT, ACCURACY_ARTIFACT, PLOTS_FOLDER} <= listed
    table = pd.read_parquet(
        client.download_artifacts(run.run_id, PER_SERIES_ARTIFACT, str(tmp_path))
    )
    n_ids = panel.n_series + 1 + 4 + 4  # SKUs, total, regions, stores
    assert table["unique_id"].nunique() == n_ids
    assert len(table.groupby(["unique_id", "family", "cutoff"])) == len(table)
    assert set(table.dropna(subset=["sku"])["level"]) == {"sku"}  # SKU rows are labelled
    for name in (FORECAST_PLOT, ACCURACY_PLOT):
        local = client.download_artifacts(run.run_id, f"{PLOTS_FOLDER}/{name}", str(tmp_path))
        assert Path(local).read_bytes()[:8] == PNG_MAGIC

    # registered as the challenger; the champion alias only moves when promoted
    assert version == "1"
    assert alias_version(client, CHALLENGER) == "1"
    assert alias_version(client, CHAMPION) is None
    promote(client, version)
    assert alias_version(client, CHAMPION) == "1"
    assert client.get_model_version(REGISTERED_MODEL, version).run_id == run.run_id
    with tracker.session() as session:
        loaded = load_pipeline(session, version)
    out = loaded.forecast(panel, 5)
    assert set(out["level"]) == {"total", "region", "store", "sku"}
    assert any(artifacts.rglob("MLmodel"))  # the model's files live under the artifact folder


def test_a_failing_block_marks_the_run_failed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, tmp_path / "artifacts")
    with (
        pytest.raises(RuntimeError, match="boom"),
        tracker.run(run_name="x", snapshot_hash="0" * 64, params={}) as run,
    ):
        raise RuntimeError("boom")
    assert MlflowClient(tracking_uri=uri).get_run(run.run_id).info.status == "FAILED"
