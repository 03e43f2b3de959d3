"""Champion and challenger: does the new model beat the one serving, by enough, for sure?

Both forecast the same evaluation windows of the backtest from the same history: the
challenger as the backtest did (chosen on the earlier windows, its global model trained
before them), the champion with its frozen pipeline (``FittedPipeline.forecast`` at each
cutoff). Their SKU x store absolute errors are paired by window and day: the loss
differential of a day is the champion's mean absolute error minus the challenger's.

The challenger is promoted only when both hold:

- its MAE is at least ``margin`` (default 2 %) below the champion's on those windows;
- the Diebold-Mariano test (one-sided, with the Harvey, Leybourne & Newbold small-sample
  correction and a Newey-West variance over ``horizon - 1`` lags, Student t with n - 1
  degrees of freedom) rejects "no better" at ``alpha`` (default 0.05).

A champion trained on days inside the windows has seen them, which favours it: the
challenger then has to be clearly better, never the other way round.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

DEFAULT_MARGIN = 0.02
DEFAULT_ALPHA = 0.05
TEST_NAME = "diebold-mariano (HLN, one-sided)"


@dataclass(frozen=True)
class Comparison:
    """The numbers a promotion decision rests on."""

    champion_mae: float
    challenger_mae: float
    improvement: float
    dm_statistic: float
    p_value: float
    days: int
    series: int


@dataclass(frozen=True)
class Decision:
    """Promote or keep, why, and the numbers (what MLflow and the ledger record)."""

    promoted: bool
    reason: str
    champion_version: str | None
    challenger_version: str
    margin: float
    alpha: float
    test: str
    comparison: Comparison | None

    def record(self) -> dict[str, object]:
        """A flat, JSON-ready description."""
        out: dict[str, object] = {
            "promoted": self.promoted,
            "reason": self.reason,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "margin": self.margin,
            "alpha": self.alpha,
            "test": self.test,
        }
        if self.comparison is not None:
            out.update(asdict(self.comparison))
        return out


def diebold_mariano(differential: np.ndarray, horizon: int) -> tuple[float, float]:
    """(statistic, one-sided p-value) that the mean of ``differential`` is > 0."""
    d = np.asarray(differential, dtype=float)
    n = len(d)
    if n < 2:
        return float("nan"), 1.0
    mean = d.mean()
    centred = d - mean
    lags = max(0, min(horizon - 1, n - 1))
    variance = centred @ centred / n
    for k in range(1, lags + 1):
        weight = 1.0 - k / (lags + 1)
        variance += 2.0 * weight * (centred[k:] @ centred[:-k]) / n
    if variance <= 0:
        if mean > 0:
            return float("inf"), 0.0
        return 0.0 if mean == 0 else float("-inf"), 1.0
    dm = mean / math.sqrt(variance / n)
    h = lags + 1
    correction = math.sqrt(max((n + 1 - 2 * h + h * (h - 1) / n) / n, 1e-12))
    statistic = dm * correction
    return float(statistic), float(stats.t.sf(statistic, df=n - 1))


def compare(champion: pd.DataFrame, challenger: pd.DataFrame, horizon: int) -> Comparison:
    """Pair both forecasts (``unique_id, cutoff, ds, y, y_hat``) on what both forecast."""
    keys = ["unique_id", "cutoff", "ds"]
    both = champion[[*keys, "y", "y_hat"]].merge(
        challenger[[*keys, "y_hat"]], on=keys, suffixes=("_champion", "_challenger")
    )
    if both.empty:
        raise ValueError("the champion and the challenger forecast no common series and day")
    both["loss_champion"] = (both["y"] - both["y_hat_champion"]).abs()
    both["loss_challenger"] = (both["y"] - both["y_hat_challenger"]).abs()
    daily = both.groupby(["cutoff", "ds"], sort=True)[["loss_champion", "loss_challenger"]].mean()
    differential = (daily["loss_champion"] - daily["loss_challenger"]).to_numpy()
    statistic, p_value = diebold_mariano(differential, horizon)
    champion_mae = float(both["loss_champion"].mean())
    challenger_mae = float(both["loss_challenger"].mean())
    return Comparison(
        champion_mae=champion_mae,
        challenger_mae=challenger_mae,
        improvement=1.0 - challenger_mae / champion_mae if champion_mae else 0.0,
        dm_statistic=statistic,
        p_value=p_value,
        days=len(differential),
        series=int(both["unique_id"].nunique()),
    )


def decide(
    comparison: Comparison | None,
    challenger_version: str,
    champion_version: str | None,
    *,
    margin: float = DEFAULT_MARGIN,
    alpha: float = DEFAULT_ALPHA,
) -> Decision:
    """The decision; without a champion the first challenger is promoted."""
    common = {
        "champion_version": champion_version,
        "challenger_version": challenger_version,
        "margin": margin,
        "alpha": alpha,
        "test": TEST_NAME,
        "comparison": comparison,
    }
    if champion_version is None or comparison is None:
        return Decision(promoted=True, reason="no champion yet", **common)
    better = comparison.improvement >= margin
    significant = comparison.p_value < alpha
    if better and significant:
        reason = (
            f"MAE {comparison.improvement:.1%} below the champion's (margin {margin:.0%}), "
            f"p = {comparison.p_value:.3g} < {alpha}"
        )
    else:
        missing = []
        if not better:
            missing.append(f"MAE {comparison.improvement:+.1%} vs a {margin:.0%} margin")
        if not significant:
            missing.append(f"p = {comparison.p_value:.3g} >= {alpha}")
        reason = "the champion keeps serving: " + "; ".join(missing)
    return Decision(promoted=better and significant, reason=reason, **common)
