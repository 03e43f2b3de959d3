"""Rolling-origin backtest of a model family, with MAE and WAPE overall, per window, per series.

For each cutoff the model is refit on the days up to the cutoff and forecasts the
``horizon`` days after it; cutoffs are ``step`` days apart and the last one ends on
the panel's last day. Errors are measured against the panel's (zero-filled) actuals.

- MAE = mean |y - ŷ| over every series, window and day;
- WAPE = Σ|y - ŷ| / Σ|y| (undefined, NaN, when all actuals are zero).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from ml.errors import ForecastError
from ml.models import MIN_TRAIN_DAYS, Forecaster

DEFAULT_WINDOWS = 3
DEFAULT_STEP = 7


@dataclass(frozen=True)
class WindowPlan:
    """Where the backtest cuts: each cutoff is the last training day of one window."""

    horizon: int
    step: int
    cutoffs: tuple[pd.Timestamp, ...]

    @property
    def n_windows(self) -> int:
        return len(self.cutoffs)


def plan_windows(
    start: pd.Timestamp,
    end: pd.Timestamp,
    horizon: int,
    *,
    n_windows: int = DEFAULT_WINDOWS,
    step: int = DEFAULT_STEP,
    min_train_days: int = MIN_TRAIN_DAYS,
) -> WindowPlan:
    """Cutoffs for a panel from ``start`` to ``end`` (inclusive).

    Every window keeps at least ``min_train_days`` of training history. With a short
    history the plan first drops windows, then shortens the horizon; it raises
    :class:`ForecastError` when not even a one-day window fits.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    n_days = (end - start).days + 1
    horizon = min(horizon, n_days - min_train_days)
    if horizon < 1:
        raise ForecastError(
            f"{n_days} day(s) of history leave no room for a backtest "
            f"(training needs {min_train_days} days)"
        )
    room = n_days - min_train_days - horizon
    windows = max(1, min(n_windows, room // step + 1))
    last_cutoff = end - timedelta(days=horizon)
    cutoffs = tuple(last_cutoff - timedelta(days=step * k) for k in reversed(range(windows)))
    return WindowPlan(horizon=horizon, step=step, cutoffs=cutoffs)


def mae(actual: np.ndarray | pd.Series, predicted: np.ndarray | pd.Series) -> float:
    """Mean absolute error."""
    errors = np.abs(np.asarray(actual, dtype=float) - np.asarray(predicted, dtype=float))
    return float(errors.mean()) if errors.size else float("nan")


def wape(actual: np.ndarray | pd.Series, predicted: np.ndarray | pd.Series) -> float:
    """Weighted absolute percentage error: Σ|y - ŷ| / Σ|y|; NaN when Σ|y| is zero."""
    y = np.asarray(actual, dtype=float)
    total = float(np.abs(y).sum())
    if total == 0.0:
        return float("nan")
    return float(np.abs(y - np.asarray(predicted, dtype=float)).sum() / total)


def _grouped_metrics(predictions: pd.DataFrame, key: str) -> pd.DataFrame:
    frame = predictions.assign(
        abs_error=(predictions["y"] - predictions["y_hat"]).abs(),
        abs_actual=predictions["y"].abs(),
    )
    grouped = frame.groupby(key, sort=True).agg(
        points=("y", "size"),
        actual_units=("y", "sum"),
        forecast_units=("y_hat", "sum"),
        abs_error=("abs_error", "sum"),
        abs_actual=("abs_actual", "sum"),
    )
    grouped["mae"] = grouped["abs_error"] / grouped["points"]
    grouped["wape"] = grouped["abs_error"] / grouped["abs_actual"].where(grouped["abs_actual"] > 0)
    return grouped.drop(columns="abs_actual").reset_index()


@dataclass(frozen=True)
class BacktestResult:
    """One model family's backtest: its forecasts next to the actuals, and their errors.

    ``predictions``: ``unique_id, cutoff, ds, y, y_hat``; ``per_series`` and
    ``per_window``: ``points, actual_units, forecast_units, abs_error, mae, wape``
    keyed by ``unique_id`` or ``cutoff``.
    """

    family: str
    params: dict[str, int | float | str]
    plan: WindowPlan
    predictions: pd.DataFrame
    mae: float
    wape: float
    per_series: pd.DataFrame
    per_window: pd.DataFrame


def evaluate(
    family: str,
    predictions: pd.DataFrame,
    plan: WindowPlan,
    params: dict[str, int | float | str] | None = None,
) -> BacktestResult:
    """Metrics of backtest ``predictions`` (``unique_id, cutoff, ds, y, y_hat``)."""
    return BacktestResult(
        family=family,
        params=dict(params or {}),
        plan=plan,
        predictions=predictions,
        mae=mae(predictions["y"], predictions["y_hat"]),
        wape=wape(predictions["y"], predictions["y_hat"]),
        per_series=_grouped_metrics(predictions, "unique_id"),
        per_window=_grouped_metrics(predictions, "cutoff"),
    )


def backtest(
    panel: pd.DataFrame, make_model: Callable[[], Forecaster], plan: WindowPlan
) -> BacktestResult:
    """Refit a fresh model at every cutoff of ``plan`` and score its forecasts."""
    frames = []
    params: dict[str, int | float | str] = {}
    family = ""
    for cutoff in plan.cutoffs:
        train = panel[panel["ds"] <= cutoff]
        test = panel[
            (panel["ds"] > cutoff) & (panel["ds"] <= cutoff + timedelta(days=plan.horizon))
        ]
        model = make_model().fit(train)
        family, params = model.name, model.params()
        forecast = model.predict(plan.horizon)
        joined = test[["unique_id", "ds", "y"]].merge(
            forecast, on=["unique_id", "ds"], how="left", validate="one_to_one"
        )
        if joined["y_hat"].isna().any():
            raise RuntimeError(f"{family} left days of the window after {cutoff:%Y-%m-%d} empty")
        frames.append(joined.assign(cutoff=cutoff))
    predictions = pd.concat(frames, ignore_index=True)[["unique_id", "cutoff", "ds", "y", "y_hat"]]
    return evaluate(family, predictions, plan, params)


def mase_scale(matrix: np.ndarray, season: int) -> np.ndarray:
    """Per row of a (series x days) history: the in-sample MAE of the seasonal-naive
    forecast, mean |y_t - y_{t-season}| (0 when the history is constant or too short)."""
    if matrix.shape[1] <= season:
        return np.zeros(matrix.shape[0])
    return np.abs(matrix[:, season:] - matrix[:, :-season]).mean(axis=1)


def accuracy(frame: pd.DataFrame, column: str, scale: pd.Series) -> dict[str, float]:
    """MAE, MASE, WAPE and bias of ``frame[column]`` against ``frame["y"]``.

    MASE is the mean over series of each series' MAE divided by its ``scale`` (indexed by
    ``unique_id``; series with a zero scale are left out of it). Bias is
    (Σŷ - Σy) / Σy (NaN when Σy is zero).
    """
    error = (frame["y"] - frame[column]).abs()
    per_series = error.groupby(frame["unique_id"].to_numpy()).mean()
    denominator = scale.reindex(per_series.index)
    usable = denominator > 0
    total = float(frame["y"].sum())
    return {
        "mae": float(error.mean()) if len(error) else float("nan"),
        "mase": float((per_series[usable] / denominator[usable]).mean()),
        "wape": wape(frame["y"], frame[column]),
        "bias": (float(frame[column].sum()) - total) / total if total else float("nan"),
    }
