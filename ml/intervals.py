"""Conformal prediction intervals from backtest residuals, and their measured coverage.

Split conformal prediction with normalised scores, per group (Mondrian): a residual
``y - ŷ`` of a backtest forecast is divided by its series' scale (the MASE scale: the
mean absolute seasonal difference of its history, or its mean level when that is zero),
and the scores of one group (level x demand class) give the quantiles. For a nominal
level ``1 - a`` the interval is ``ŷ + s·q_lo .. ŷ + s·q_hi`` with ``q_lo`` the ``a/2``
and ``q_hi`` the ``1 - a/2`` conformal quantiles (finite-sample corrected: the
``ceil((n+1)(1-a/2))``-th smallest score), the lower end never below zero. A group with fewer
than :data:`MIN_GROUP_SCORES` scores borrows its level's quantiles, and a level with too
few its neighbours' (all scores). Scores are pooled over the horizon's days.

Coverage is measured on windows the calibration did not see (:mod:`ml.engine`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Nominal coverages of the intervals served beside the point forecast, in percent.
INTERVAL_LEVELS = (80, 95)
#: Fewest scores a group needs to have its own quantiles.
MIN_GROUP_SCORES = 50
ALL = "*"


def bound_columns(level: int) -> tuple[str, str]:
    """Names of the lower and upper bound columns of the ``level`` % interval."""
    return f"lo_{level}", f"hi_{level}"


def _conformal_quantiles(scores: np.ndarray, level: int) -> tuple[float, float]:
    n = len(scores)
    alpha = 1.0 - level / 100.0
    ordered = np.sort(scores)
    upper_rank = min(n, math.ceil((n + 1) * (1.0 - alpha / 2.0)))
    lower_rank = max(1, math.floor((n + 1) * (alpha / 2.0)))
    return float(ordered[lower_rank - 1]), float(ordered[upper_rank - 1])


@dataclass(frozen=True)
class Calibration:
    """Quantiles of normalised scores per group and level: ``group, level, q_lo, q_hi, n``."""

    table: pd.DataFrame

    def quantiles(self, groups: pd.Series, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(q_lo, q_hi) per row of ``groups`` (each ``"<level>/<class>"``), with fallbacks."""
        rows = self.table[self.table["level"] == level].set_index("group")
        keys = groups.astype(str)
        parent = keys.str.split("/").str[0] + "/" + ALL
        lo = keys.map(rows["q_lo"]).fillna(parent.map(rows["q_lo"])).fillna(rows.loc[ALL, "q_lo"])
        hi = keys.map(rows["q_hi"]).fillna(parent.map(rows["q_hi"])).fillna(rows.loc[ALL, "q_hi"])
        return lo.to_numpy(dtype=float), hi.to_numpy(dtype=float)


def calibrate(residuals: pd.DataFrame, levels: Sequence[int] = INTERVAL_LEVELS) -> Calibration:
    """Quantiles of ``residuals`` (``group, score``: score = (y - ŷ) / scale)."""
    rows = []
    scores = residuals["score"].to_numpy(dtype=float)
    keys = residuals["group"].astype(str)
    parents = keys.str.split("/").str[0] + "/" + ALL
    candidates = [(ALL, scores)]
    for key, part in residuals.groupby(parents.to_numpy())["score"]:
        candidates.append((key, part.to_numpy(dtype=float)))
    for key, part in residuals.groupby(keys.to_numpy())["score"]:
        candidates.append((key, part.to_numpy(dtype=float)))
    for key, values in candidates:
        if len(values) < MIN_GROUP_SCORES and key != ALL:
            continue
        for level in levels:
            q_lo, q_hi = _conformal_quantiles(values, level)
            rows.append(
                {"group": key, "level": level, "q_lo": q_lo, "q_hi": q_hi, "n": len(values)}
            )
    return Calibration(pd.DataFrame(rows, columns=["group", "level", "q_lo", "q_hi", "n"]))


def add_intervals(
    frame: pd.DataFrame,
    scale: np.ndarray,
    groups: pd.Series,
    calibration: Calibration,
    levels: Sequence[int] = INTERVAL_LEVELS,
) -> pd.DataFrame:
    """``frame`` (with ``y_hat``) plus ``lo_<level>``, ``hi_<level>`` per level; ``scale``
    and ``groups`` are per row."""
    out = frame.copy()
    y_hat = out["y_hat"].to_numpy(dtype=float)
    for level in levels:
        q_lo, q_hi = calibration.quantiles(groups.reset_index(drop=True), level)
        lo, hi = bound_columns(level)
        out[lo] = np.clip(y_hat + scale * np.minimum(q_lo, 0.0), 0.0, None)
        out[hi] = np.maximum(y_hat + scale * np.maximum(q_hi, 0.0), out[lo])
    return out


def coverage(frame: pd.DataFrame, level: int) -> float:
    """Share of rows whose actual ``y`` lies inside the ``level`` % interval."""
    lo, hi = bound_columns(level)
    inside = (frame["y"] >= frame[lo] - 1e-9) & (frame["y"] <= frame[hi] + 1e-9)
    return float(inside.mean()) if len(frame) else float("nan")


def series_scale(matrix: np.ndarray, season: int) -> np.ndarray:
    """Per row of a (series x days) history: mean |y_t - y_{t-season}| (the MASE scale),
    else the mean level, else 1."""
    if matrix.shape[1] > season:
        scale = np.abs(matrix[:, season:] - matrix[:, :-season]).mean(axis=1)
    else:
        scale = np.zeros(matrix.shape[0])
    level = np.abs(matrix).mean(axis=1)
    return np.where(scale > 0, scale, np.where(level > 0, level, 1.0))
