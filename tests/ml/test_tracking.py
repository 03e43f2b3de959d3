"""MLflow tracking in a real local store: parent run, child runs, artifact, registry."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml.backtest import backtest, plan_windows
from ml.features import build_panel
from ml.models import LightGBMForecaster, ModelConfig, SeasonalNaiveForecaster
from ml.synthetic import synthetic_demand
from ml.tracking import (
    EXPERIMENT,
    PER_SERIES_ARTIFACT,
    REGISTERED_MODEL,
    SNAPSHOT_TAG,
    Tracker,
)


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    panel = build_panel(synthetic_demand(n_series=4, n_days=56, seed=9))
    plan = plan_windows(pd.Timestamp(panel.start), pd.Timestamp(panel.end), 7)
    config = ModelConfig(n_estimators=10)
    return {
        "panel": panel,
        "model_bt": backtest(panel.frame, lambda: LightGBMForecaster(config), plan),
        "baseline_bt": backtest(panel.frame, SeasonalNaiveForecaster, plan),
        "final": LightGBMForecaster(config).fit(panel.frame),
    }


def test_backtest_run_layout_artifact_and_registered_model(
    tmp_path: Path, fitted: dict[str, object]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = tmp_path / "artifacts"
    panel = fitted["panel"]
    tracker = Tracker(uri, artifacts)
    before = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    with tracker.run(
        run_name="test", snapshot_hash=panel.snapshot_hash, params={"horizon_days": 7}
    ) as run:
        child_model = run.log_family(fitted["model_bt"], panel.series)
        child_baseline = run.log_family(fitted["baseline_bt"])
        run.log_metrics({"model_mae": fitted["model_bt"].mae})
        version = run.register_model(fitted["final"], panel.series, tags={"purpose": "test"})
    assert version == "1"
    after = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    assert after == before  # the process' URI is restored

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.artifact_location == artifacts.resolve().as_uri()
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3  # one parent, one child per family: never a run per series
    parent = client.get_run(run.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[SNAPSHOT_TAG] == panel.snapshot_hash
    assert parent.data.params["horizon_days"] == "7"
    assert parent.data.metrics["model_mae"] == pytest.approx(fitted["model_bt"].mae)

    for child_id, family in ((child_model, "lightgbm"), (child_baseline, "seasonal_naive")):
        child = client.get_run(child_id)
        assert child.data.tags["mlflow.parentRunId"] == run.run_id
        assert child.info.run_name == family
        assert child.info.status == "FINISHED"
        assert "mae" in child.data.metrics and "wape" in child.data.metrics
        assert len(client.get_metric_history(child_id, "window_mae")) == 3
        assert [a.path for a in client.list_artifacts(child_id)] == [PER_SERIES_ARTIFACT]
        local = client.download_artifacts(child_id, PER_SERIES_ARTIFACT, str(tmp_path))
        table = pd.read_parquet(local)
        assert len(table) == panel.n_series
        assert {"unique_id", "mae", "wape", "model_family"} <= set(table.columns)
        assert set(table["model_family"]) == {family}
        assert table["mae"].notna().all()
        assert Path(local).stat().st_size > 0
    labelled = pd.read_parquet(
        client.download_artifacts(child_model, PER_SERIES_ARTIFACT, str(tmp_path / "l"))
    )
    assert labelled.set_index("unique_id")[["sku", "store_id", "region"]].to_dict(
        "index"
    ) == panel.series.set_index("unique_id").to_dict("index")
    lgbm_params = client.get_run(child_model).data.params
    assert lgbm_params["model.n_estimators"] == "10"
    assert lgbm_params["backtest.windows"] == "3"

    registered = client.get_model_version(REGISTERED_MODEL, version)
    assert registered.run_id == run.run_id
    assert registered.tags == {"purpose": "test"}
    mlflow.set_tracking_uri(uri)  # models:/ URIs resolve through the process' registry
    try:
        loaded = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}/{version}")
    finally:
        mlflow.set_tracking_uri(before)
    ids = panel.series["unique_id"].tolist()
    out = loaded.predict(pd.DataFrame({"unique_id": ids[:2], "h": [5, 5]}))
    assert len(out) == 2 * 5
    assert set(out["unique_id"]) == set(ids[:2])
    assert (out["units_forecast"] >= 0).all()
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
