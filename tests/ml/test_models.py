"""The two model families on small hand-made and synthetic panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.features import build_panel
from ml.models import (
    LightGBMForecaster,
    ModelConfig,
    SeasonalNaiveForecaster,
    make_forecaster,
)
from ml.synthetic import synthetic_demand


def _panel(values: dict[str, list[float]], start: str = "2026-01-05") -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {"unique_id": uid, "ds": pd.date_range(start, periods=len(ys), freq="D"), "y": ys}
        )
        for uid, ys in values.items()
    ]
    return pd.concat(frames, ignore_index=True)


def test_seasonal_naive_repeats_the_last_week() -> None:
    week_a = [1.0, 2, 3, 4, 5, 6, 7]
    week_b = [0.0, 0, 0, 9, 0, 0, 1]
    panel = _panel({"a": [99.0] * 3 + week_a, "b": [42.0] * 3 + week_b})
    out = SeasonalNaiveForecaster().fit(panel).predict(10)
    assert out[out["unique_id"] == "a"]["y_hat"].tolist() == week_a + week_a[:3]
    assert out[out["unique_id"] == "b"]["y_hat"].tolist() == week_b + week_b[:3]
    days = out[out["unique_id"] == "a"]["ds"]
    assert days.iloc[0] == pd.Timestamp("2026-01-15")
    assert days.iloc[-1] == pd.Timestamp("2026-01-24")


def test_seasonal_naive_matches_statsforecast() -> None:
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    panel = build_panel(synthetic_demand(n_series=5, n_days=40, seed=2)).frame
    ours = SeasonalNaiveForecaster().fit(panel).predict(9)
    theirs = (
        StatsForecast(models=[SeasonalNaive(season_length=7)], freq="D", n_jobs=1)
        .forecast(df=panel, h=9)
        .reset_index(drop=True)
    )
    merged = ours.merge(theirs, on=["unique_id", "ds"], validate="one_to_one")
    assert len(merged) == 5 * 9
    np.testing.assert_allclose(merged["y_hat"], merged["SeasonalNaive"])


def test_lightgbm_forecasts_every_series_and_never_negative() -> None:
    panel = build_panel(synthetic_demand(n_series=6, n_days=60, seed=4)).frame
    model = LightGBMForecaster(ModelConfig(n_estimators=20)).fit(panel)
    out = model.predict(14)
    assert len(out) == 6 * 14
    assert set(out["unique_id"]) == set(panel["unique_id"])
    assert out["ds"].min() == panel["ds"].max() + pd.Timedelta(days=1)
    assert (out["y_hat"] >= 0).all()
    assert np.isfinite(out["y_hat"]).all()
    one = model.predict(3, ids=[out["unique_id"].iloc[0]])
    assert len(one) == 3


def test_make_forecaster_knows_the_families() -> None:
    assert make_forecaster("lightgbm").name == "lightgbm"
    assert make_forecaster("seasonal_naive").name == "seasonal_naive"
    with pytest.raises(ValueError, match="unknown model family"):
        make_forecaster("prophet")
