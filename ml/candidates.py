"""The candidate forecasters and how each is backtested and refit.

- statsforecast: ``seasonal_naive`` (the baseline every figure is measured against),
  ``auto_ets`` and ``auto_theta`` (weekly season), and for intermittent demand
  ``croston`` (CrostonOptimized), ``adida`` and ``imapa``;
- ``lightgbm``: one global mlforecast LightGBM model over the SKU x store series, with the
  calendar, holiday and promotion features of :mod:`ml.exog`;
- ``ensemble``: the mean of a level's other candidates but the baseline
  (:mod:`ml.selection`).

Statistical models are fitted per series, on the last ``history_days`` of it; AutoETS and
AutoTheta are slow per series (about 0.1 s each on a year of daily data), so the engine runs
them on the aggregated levels and on the SKU level only when it is small enough. In a
backtest every statistical model is refit at each cutoff; the global model is trained once,
on the days up to the first cutoff, and forecasts each window from the history up to its
cutoff (mlforecast ``predict(new_df=...)``), which is what production does between
retrainings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np
import pandas as pd

from ml.backtest import WindowPlan
from ml.exog import Exogenous
from ml.models import FEATURE_CONTEXT_DAYS, SEASON_LENGTH, LightGBMForecaster, ModelConfig

SEASONAL_NAIVE = "seasonal_naive"
AUTO_ETS = "auto_ets"
AUTO_THETA = "auto_theta"
CROSTON = "croston"
ADIDA = "adida"
IMAPA = "imapa"
LIGHTGBM = "lightgbm"
ENSEMBLE = "ensemble"

#: The statistical families slow enough to keep off large SKU levels.
SLOW_FAMILIES = (AUTO_ETS, AUTO_THETA)
#: The statistical families for intermittent demand.
INTERMITTENT_FAMILIES = (CROSTON, ADIDA, IMAPA)
#: Every statistical family, in report order.
STAT_FAMILIES = (SEASONAL_NAIVE, *SLOW_FAMILIES, *INTERMITTENT_FAMILIES)
#: Every candidate, in report order.
ALL_FAMILIES = (*STAT_FAMILIES, LIGHTGBM, ENSEMBLE)


def _stat_model(family: str) -> object:
    from statsforecast import models

    factories: dict[str, Callable[[], object]] = {
        SEASONAL_NAIVE: lambda: models.SeasonalNaive(season_length=SEASON_LENGTH),
        AUTO_ETS: lambda: models.AutoETS(season_length=SEASON_LENGTH),
        AUTO_THETA: lambda: models.AutoTheta(season_length=SEASON_LENGTH),
        CROSTON: models.CrostonOptimized,
        ADIDA: models.ADIDA,
        IMAPA: models.IMAPA,
    }
    model = factories[family]()
    model.alias = family
    return model


def _statsforecast(families: Sequence[str], n_jobs: int) -> object:
    from statsforecast import StatsForecast

    return StatsForecast(
        models=[_stat_model(f) for f in families], freq="D", n_jobs=n_jobs, verbose=False
    )


def _recent(frame: pd.DataFrame, first_day: pd.Timestamp) -> pd.DataFrame:
    return frame[frame["ds"] >= first_day][["unique_id", "ds", "y"]]


def stat_backtest(
    frame: pd.DataFrame,
    families: Sequence[str],
    plan: WindowPlan,
    *,
    history_days: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """``unique_id, cutoff, ds, y`` and one column per family over the windows of ``plan``,
    from at most ``history_days`` before the first cutoff (and what followed it). The fast
    families are refit at every cutoff; AutoETS and AutoTheta are fitted at the first and
    carried forward over the newer history at the others (statsforecast ``refit=False``),
    their parameters fixed."""
    out = pd.DataFrame(columns=["unique_id", "cutoff", "ds", "y"])
    first_day = plan.cutoffs[0] - timedelta(days=history_days - 1)
    last_day = plan.cutoffs[-1] + timedelta(days=plan.horizon)
    data = _recent(frame, first_day)
    data = data[data["ds"] <= last_day]
    fast = [f for f in families if f not in SLOW_FAMILIES]
    slow = [f for f in families if f in SLOW_FAMILIES]
    for group, refit in ((fast, True), (slow, False)):
        if not group:
            continue
        part = _statsforecast(group, n_jobs).cross_validation(
            df=data, h=plan.horizon, n_windows=plan.n_windows, step_size=plan.step, refit=refit
        )
        cutoffs = tuple(pd.Timestamp(c) for c in sorted(part["cutoff"].unique()))
        if cutoffs != tuple(plan.cutoffs):
            raise RuntimeError(f"statsforecast cut at {cutoffs}, the plan at {plan.cutoffs}")
        part = part.reset_index(drop=True)
        for family in group:
            part[family] = part[family].clip(lower=0.0).astype(float)
        keys = ["unique_id", "cutoff", "ds", "y"]
        out = (
            part[[*keys, *group]]
            if out.empty
            else out.merge(part[[*keys[:3], *group]], on=keys[:3])
        )
    return out


def stat_forecast(
    frame: pd.DataFrame,
    families: Sequence[str],
    h: int,
    *,
    history_days: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """``unique_id, ds`` and one column per family: ``h`` days past the frame's end, each
    family fitted on the last ``history_days`` of every series."""
    if not families:
        return pd.DataFrame(columns=["unique_id", "ds"])
    last = frame["ds"].max()
    data = _recent(frame, last - timedelta(days=history_days - 1))
    out = _statsforecast(families, n_jobs).forecast(df=data, h=h).reset_index(drop=True)
    for family in families:
        out[family] = out[family].clip(lower=0.0).astype(float)
    return out[["unique_id", "ds", *families]]


def gbm_training_frame(
    frame: pd.DataFrame, exog: Exogenous, last_day: pd.Timestamp, train_days: int
) -> pd.DataFrame:
    """The rows the global model trains on: the ``train_days`` up to ``last_day`` (plus the
    lag warm-up), with their exogenous features."""
    first = max(frame["ds"].min(), last_day - timedelta(days=train_days + FEATURE_CONTEXT_DAYS))
    rows = frame[(frame["ds"] >= first) & (frame["ds"] <= last_day)][["unique_id", "ds", "y"]]
    features = exog.history(first, last_day)
    return _with_features(rows, features)


def _with_features(rows: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    # Both frames are dense and in panel order over the same days: align by position.
    if len(rows) != len(features):
        raise RuntimeError("exogenous features do not cover the panel's rows")
    out = rows.reset_index(drop=True)
    for column in features.columns[2:]:
        out[column] = features[column].to_numpy()
    return out


def gbm_fit(
    frame: pd.DataFrame,
    exog: Exogenous,
    config: ModelConfig,
    last_day: pd.Timestamp,
    train_days: int,
) -> LightGBMForecaster:
    """The global model trained on the days up to ``last_day``."""
    return LightGBMForecaster(config).fit(gbm_training_frame(frame, exog, last_day, train_days))


def gbm_forecast(
    model: LightGBMForecaster, frame: pd.DataFrame, exog: Exogenous, cutoff: pd.Timestamp, h: int
) -> pd.DataFrame:
    """``unique_id, ds, lightgbm``: ``h`` days after ``cutoff`` from the history up to it."""
    start = frame["ds"].min()
    first = max(cutoff - timedelta(days=FEATURE_CONTEXT_DAYS), start - timedelta(days=1))
    context = frame[(frame["ds"] > first) & (frame["ds"] <= cutoff)][["unique_id", "ds", "y"]]
    history = _with_features(context, exog.history(first + timedelta(days=1), cutoff))
    out = model.predict(h, new_df=history, X_df=exog.future(cutoff, h))
    return out.rename(columns={"y_hat": LIGHTGBM})


def gbm_backtest(
    frame: pd.DataFrame,
    exog: Exogenous,
    plan: WindowPlan,
    config: ModelConfig,
    *,
    train_days: int,
) -> tuple[pd.DataFrame, LightGBMForecaster]:
    """``unique_id, cutoff, ds, lightgbm`` for every window of ``plan``, from one model
    trained on the days up to the first cutoff; and that model."""
    model = gbm_fit(frame, exog, config, plan.cutoffs[0], train_days)
    frames = [
        gbm_forecast(model, frame, exog, cutoff, plan.horizon).assign(cutoff=cutoff)
        for cutoff in plan.cutoffs
    ]
    out = pd.concat(frames, ignore_index=True)
    return out[["unique_id", "cutoff", "ds", LIGHTGBM]], model


def mean_of(predictions: pd.DataFrame, families: Sequence[str]) -> np.ndarray:
    """The ensemble: the mean of ``families``' columns."""
    return predictions[list(families)].to_numpy(dtype=float).mean(axis=1)
