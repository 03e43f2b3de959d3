"""Conformal intervals (coverage on unseen data), demand classes and per-series choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.intervals import add_intervals, calibrate, coverage
from ml.selection import choose, cluster_defaults, demand_classes, pick


def test_conformal_intervals_cover_unseen_data_at_their_nominal_level() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    groups = pd.Series(np.where(np.arange(n) % 2, "sku/smooth", "sku/lumpy"))
    scale = np.where(groups == "sku/smooth", 1.0, 4.0)
    noise = rng.standard_t(df=5, size=(2, n)) * scale + np.where(groups == "sku/lumpy", 1.5, 0)
    calibration = calibrate(pd.DataFrame({"group": groups, "score": noise[0] / scale}))
    frame = pd.DataFrame({"y_hat": np.full(n, 100.0)})
    frame["y"] = 100.0 + noise[1]
    out = add_intervals(frame, scale, groups, calibration)
    for level in (80, 95):
        assert abs(coverage(out, level) - level / 100) < 0.02
    assert (out["lo_95"] <= out["lo_80"]).all() and (out["hi_80"] <= out["hi_95"]).all()
    # a group never seen borrows its level's quantiles, then everyone's
    other = add_intervals(frame.iloc[:2], np.ones(2), pd.Series(["store/erratic"] * 2), calibration)
    assert np.isfinite(other[["lo_80", "hi_80"]].to_numpy()).all()


def test_lower_bounds_never_go_below_zero() -> None:
    calibration = calibrate(pd.DataFrame({"group": ["g"] * 100, "score": np.linspace(-5, 5, 100)}))
    frame = pd.DataFrame({"y_hat": [0.5, 10.0], "y": [0.0, 10.0]})
    out = add_intervals(frame, np.ones(2), pd.Series(["g", "g"]), calibration)
    assert out["lo_95"].min() == 0.0


def test_demand_classes() -> None:
    history = np.array(
        [
            [5, 6, 5, 6, 5, 6, 5, 6],  # sells daily, steadily
            [1, 30, 2, 25, 1, 40, 3, 2],  # daily, erratic
            [0, 0, 2, 0, 0, 2, 0, 3],  # intermittent, steady sizes
            [0, 0, 1, 0, 0, 30, 0, 0],  # lumpy
            [0, 0, 0, 0, 0, 0, 0, 0],
        ],
        dtype=float,
    )
    assert demand_classes(history).tolist() == [
        "smooth",
        "erratic",
        "intermittent",
        "lumpy",
        "zero",
    ]


def test_a_series_takes_its_own_best_only_when_it_clearly_wins() -> None:
    errors = pd.DataFrame(
        {
            "unique_id": ["a", "b", "c"],
            "ets": [10.0, 10.0, 10.0],
            "croston": [9.5, 5.0, 12.0],
        }
    )
    clusters = pd.Series({"a": "sku/x", "b": "sku/x", "c": "sku/x"})
    # cluster total: ets 30, croston 26.5 -> the cluster chooses croston
    choices = choose(errors, clusters, ["ets", "croston"], margin=0.1).set_index("unique_id")
    assert choices.loc["b", "family"] == "croston"
    assert choices.loc["a", "family"] == "croston"  # ets is not 10% better than croston on a
    assert (choices.loc["c", "family"], choices.loc["c", "rule"]) == ("ets", "series")
    assert cluster_defaults(choices.reset_index()) == {"sku/x": "croston"}
    predictions = pd.DataFrame({"unique_id": ["a", "c"], "ets": [1.0, 2.0], "croston": [3.0, 4.0]})
    assert pick(predictions, choices.reset_index()).tolist() == [3.0, 2.0]
    with pytest.raises(KeyError, match="no family chosen"):
        pick(pd.DataFrame({"unique_id": ["z"], "ets": [1.0]}), choices.reset_index())
