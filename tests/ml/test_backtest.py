"""Rolling-origin windows and the MAE/WAPE metrics."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd
import pytest

from ml.backtest import WindowPlan, backtest, evaluate, mae, plan_windows, wape
from ml.errors import ForecastError
from ml.features import build_panel
from ml.models import LightGBMForecaster, ModelConfig, SeasonalNaiveForecaster
from ml.synthetic import synthetic_demand

START = pd.Timestamp("2026-01-01")


def test_plan_has_three_windows_a_week_apart_ending_on_the_last_day() -> None:
    end = START + pd.Timedelta(days=119)
    plan = plan_windows(START, end, 14)
    assert plan.horizon == 14
    assert plan.cutoffs == (
        end - pd.Timedelta(days=28),
        end - pd.Timedelta(days=21),
        end - pd.Timedelta(days=14),
    )


def test_plan_shrinks_with_short_history() -> None:
    # 28 days, 21 needed for training: one window of 7 days.
    plan = plan_windows(START, START + pd.Timedelta(days=27), 14)
    assert (plan.n_windows, plan.horizon) == (1, 7)
    assert plan.cutoffs == (START + pd.Timedelta(days=20),)
    # 42 days: 14-day windows, but only two of them (the first trains on 21 days).
    plan = plan_windows(START, START + pd.Timedelta(days=41), 14)
    assert (plan.n_windows, plan.horizon) == (2, 14)
    assert plan.cutoffs[0] == START + pd.Timedelta(days=20)
    with pytest.raises(ForecastError, match="no room for a backtest"):
        plan_windows(START, START + pd.Timedelta(days=20), 14)


def test_metrics_on_a_hand_made_case() -> None:
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    assert wape([1, 2, 3], [2, 2, 5]) == pytest.approx(3 / 6)
    assert math.isnan(wape([0, 0], [1, 1]))
    c1, c2 = pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-08")
    predictions = pd.DataFrame(
        {
            "unique_id": ["a", "a", "b", "b", "a", "b"],
            "cutoff": [c1, c1, c1, c1, c2, c2],
            "ds": pd.to_datetime(["2026-02-02", "2026-02-03"] * 2 + ["2026-02-09"] * 2),
            "y": [10.0, 0.0, 0.0, 0.0, 5.0, 0.0],
            "y_hat": [8.0, 1.0, 2.0, 0.0, 5.0, 1.0],
        }
    )
    plan = WindowPlan(horizon=2, step=7, cutoffs=(c1, c2))
    result = evaluate("hand", predictions, plan)
    # |errors| = 2, 1, 2, 0, 0, 1 -> sum 6 over 6 points; actuals sum 15.
    assert result.mae == pytest.approx(1.0)
    assert result.wape == pytest.approx(6 / 15)
    per_series = result.per_series.set_index("unique_id")
    assert per_series.loc["a", "mae"] == pytest.approx(3 / 3)
    assert per_series.loc["a", "wape"] == pytest.approx(3 / 15)
    assert per_series.loc["b", "mae"] == pytest.approx(3 / 3)
    assert math.isnan(per_series.loc["b", "wape"])
    assert per_series.loc["a", "points"] == 3
    per_window = result.per_window.set_index("cutoff")
    assert per_window.loc[c1, "mae"] == pytest.approx(5 / 4)
    assert per_window.loc[c2, "wape"] == pytest.approx(1 / 5)


def test_seasonal_naive_is_exact_on_a_pure_weekly_pattern() -> None:
    week = np.array([3.0, 1, 4, 1, 5, 9, 2])
    days = pd.date_range(START, periods=70, freq="D")
    panel = pd.DataFrame({"unique_id": "p", "ds": days, "y": np.tile(week, 10)})
    plan = plan_windows(days[0], days[-1], 14)
    result = backtest(panel, SeasonalNaiveForecaster, plan)
    assert result.family == "seasonal_naive"
    assert len(result.predictions) == 3 * 14
    assert result.mae == 0.0
    assert result.wape == 0.0


def test_lightgbm_beats_seasonal_naive_on_noisy_seasonal_demand_with_trend() -> None:
    raw = synthetic_demand(n_series=12, n_days=120, seed=11, trend_per_week=0.02)
    panel = build_panel(raw).frame
    plan = plan_windows(panel["ds"].min(), panel["ds"].max(), 14)
    model = backtest(panel, partial(LightGBMForecaster, ModelConfig(n_estimators=60)), plan)
    baseline = backtest(panel, SeasonalNaiveForecaster, plan)
    assert len(model.predictions) == len(baseline.predictions) == 12 * 3 * 14
    assert len(model.per_series) == 12
    assert model.params["lags"] == "1,7,14"
    assert model.mae < baseline.mae
    assert model.wape < baseline.wape
