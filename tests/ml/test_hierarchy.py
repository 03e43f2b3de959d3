"""The hierarchy SKU x store -> store -> region -> total and its reconciliation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.hierarchy import build_hierarchy, reconcile

SERIES = pd.DataFrame(
    {
        "unique_id": ["a|S1", "b|S1", "a|S2", "c|S3"],
        "store_id": ["S1", "S1", "S2", "S3"],
        # S1 has one series labelled with another region: the store keeps its majority
        "region": ["north", "north", "north", "south"],
    }
)


def test_hierarchy_is_strict_and_sums() -> None:
    h = build_hierarchy(SERIES)
    assert list(h.aggregate_ids) == [
        "total",
        "total/north",
        "total/south",
        "total/north/S1",
        "total/north/S2",
        "total/south/S3",
    ]
    assert h.S.shape == (10, 4)
    bottom = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    sums = h.aggregate(bottom)
    assert sums[0].tolist() == [16.0, 20.0]  # total
    assert sums[1].tolist() == [9.0, 12.0]  # north
    assert sums[3].tolist() == [4.0, 6.0]  # S1
    assert h.level_of["total/south/S3"] == "store" and h.level_of["c|S3"] == "sku"


def _incoherent(h, days) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = h.ids
    return pd.DataFrame(
        {
            "unique_id": np.repeat(ids, len(days)),
            "ds": np.tile(days, len(ids)),
            "y_hat": rng.uniform(0, 10, len(ids) * len(days)),
        }
    )


def test_reconciled_forecasts_add_up_and_are_not_negative() -> None:
    h = build_hierarchy(SERIES)
    days = pd.date_range("2026-10-01", periods=3)
    base = _incoherent(h, days)
    base.loc[base["unique_id"] == "c|S3", "y_hat"] = -5.0  # a negative base forecast
    for residuals in (None, _residuals(h)):
        out = reconcile(h, base, residuals)
        wide = out.pivot(index="unique_id", columns="ds", values="y_hat").loc[h.ids]
        bottom = wide.loc[h.bottom_ids].to_numpy()
        np.testing.assert_allclose(wide.loc[h.aggregate_ids].to_numpy(), h.aggregate(bottom))
        assert (out["y_hat"] >= 0).all()


def _residuals(h) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    days = pd.date_range("2026-09-01", periods=14)
    y = rng.poisson(5, (len(h.ids), len(days))).astype(float)
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(h.ids, len(days)),
            "cutoff": pd.Timestamp("2026-08-31"),
            "ds": np.tile(days, len(h.ids)),
            "y": y.ravel(),
        }
    )
    frame["y_hat"] = frame["y"] + rng.normal(0, 1, len(frame))
    frame.loc[frame["unique_id"] == "a|S2", "y_hat"] = frame["y"]  # forecast without error
    return frame
