"""The backtest that chooses, reconciles, calibrates and scores; and the fitted pipeline.

On synthetic demand (12 series) and on the Complete Journey sample shipped with the tests
(real grocery order lines, 16 commodity x store series over 2017).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.candidates import ALL_FAMILIES, LIGHTGBM, SEASONAL_NAIVE
from ml.engine import CHOSEN, RECONCILED, run_backtest
from ml.features import build_panel
from ml.hierarchy import TOTAL_ID
from ml.models import ModelConfig
from ml.pipeline import EngineConfig
from ml.synthetic import synthetic_demand

SAMPLE = Path(__file__).parent / "data" / "completejourney_sample.parquet"
SMALL = EngineConfig(gbm=ModelConfig(n_estimators=40))


@pytest.fixture(scope="module")
def synthetic() -> tuple:
    panel = build_panel(synthetic_demand(n_series=12, n_days=150, seed=3))
    report, fitted = run_backtest(panel, SMALL)
    return panel, report, fitted


def test_windows_choose_then_score(synthetic: tuple) -> None:
    _, report, _ = synthetic
    assert report.plan.n_windows == 6
    assert report.evaluation_cutoffs == report.plan.cutoffs[-3:]
    assert not set(report.selection_cutoffs) & set(report.evaluation_cutoffs)
    sku = report.accuracy[report.accuracy["level"] == "sku"]
    assert set(sku["forecast"]) == {*ALL_FAMILIES, CHOSEN, RECONCILED}
    store = report.accuracy[report.accuracy["level"] == "store"]
    assert LIGHTGBM not in set(store["forecast"])  # the global model forecasts SKUs
    assert set(report.choices["family"]) <= set(ALL_FAMILIES)
    baseline = sku.set_index("forecast").loc[SEASONAL_NAIVE, "mae"]
    assert sku.set_index("forecast").loc[RECONCILED, "mae"] < baseline


def test_reconciled_backtest_forecasts_add_up(synthetic: tuple) -> None:
    _, report, _ = synthetic
    rows = report.predictions
    sku = rows[rows["level"] == "sku"].groupby(["cutoff", "ds"])[RECONCILED].sum()
    total = rows[rows["unique_id"] == TOTAL_ID].set_index(["cutoff", "ds"])[RECONCILED]
    np.testing.assert_allclose(sku.sort_index(), total.sort_index(), rtol=1e-6)


def test_intervals_are_scored_on_the_windows_that_did_not_calibrate_them(synthetic: tuple) -> None:
    _, report, _ = synthetic
    rows = report.predictions
    scored = rows[rows["cutoff"].isin(report.evaluation_cutoffs)]
    chosen_only = rows[rows["cutoff"].isin(report.selection_cutoffs)]
    assert scored["lo_80"].notna().all() and chosen_only["lo_80"].isna().all()
    assert (scored["lo_95"] <= scored["lo_80"] + 1e-9).all()
    assert (scored["lo_80"] <= scored[RECONCILED] + 1e-9).all()
    assert (scored[RECONCILED] <= scored["hi_80"] + 1e-9).all()
    for level, shares in report.coverage.items():
        assert 0.0 <= shares[80] <= shares[95] <= 1.0, level


def test_the_fitted_pipeline_forecasts_every_level_with_intervals(synthetic: tuple) -> None:
    panel, report, fitted = synthetic
    out = fitted.forecast(panel, 10)
    assert len(out) == (12 + 1 + 4 + 4) * 10  # SKUs, total, regions, stores
    assert out["ds"].min() == pd.Timestamp(panel.end) + pd.Timedelta(days=1)
    assert (out["lo_95"] <= out["y_hat"] + 1e-9).all() and (out["y_hat"] <= out["hi_95"]).all()
    by_day = out[out["level"] == "sku"].groupby("ds")["y_hat"].sum()
    total = out[out["unique_id"] == TOTAL_ID].set_index("ds")["y_hat"]
    np.testing.assert_allclose(by_day, total, rtol=1e-6)
    assert fitted.expected_wape["sku"] == pytest.approx(
        report.accuracy.set_index(["level", "forecast"]).loc[("sku", RECONCILED), "wape"]
    )
    # a series the pipeline has never seen gets its cluster's family, not an error
    extra = synthetic_demand(n_series=13, n_days=150, seed=3)
    newcomer = build_panel(extra[extra["sku"] == "SKU-00003"].assign(sku="NEW-SKU"))
    assert set(fitted.forecast(newcomer, 3)["unique_id"]) >= {"NEW-SKU|ST-000"}


def _daily_demand(lines: pd.DataFrame) -> pd.DataFrame:
    """The benchmark's demand rows of the sample's lines (bench/completejourney.py)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "completejourney.py"
    spec = importlib.util.spec_from_file_location("bench_completejourney", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.daily_demand(lines)


def test_on_real_grocery_demand_the_chosen_forecast_beats_seasonal_naive() -> None:
    panel = build_panel(_daily_demand(pd.read_parquet(SAMPLE)))
    assert (panel.n_series, panel.n_days) == (16, 365)
    assert panel.promo is not None and panel.promo.sum() > 0
    report, _ = run_backtest(panel, SMALL)
    sku = report.accuracy[report.accuracy["level"] == "sku"].set_index("forecast")
    assert sku.loc[RECONCILED, "mae"] < 0.9 * sku.loc[SEASONAL_NAIVE, "mae"]
    assert sku.loc[RECONCILED, "mase"] < sku.loc[SEASONAL_NAIVE, "mase"]
    assert abs(report.coverage["sku"][80] - 0.80) < 0.06
    assert abs(report.coverage["sku"][95] - 0.95) < 0.05
