"""The two model families: a global LightGBM model (mlforecast) and the seasonal-naive baseline.

Both take the dense panel (``unique_id``, ``ds``, ``y``) and forecast ``h`` days past
its last day, returning ``unique_id``, ``ds``, ``y_hat``. The LightGBM model is one
model over all series (lags 1, 7 and 14, rolling and same-weekday means, day of
week, month), and takes any further columns of the frame it is fitted on as exogenous
features (:mod:`ml.exog`: holidays, recent promotions), whose future values it is then
given (``X_df``); the baseline repeats each series' last week. Forecasts are never
negative.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, Self

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from mlforecast import MLForecast
from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean

#: Lags of the target the global model sees.
LAGS = (1, 7, 14)
#: Days of history the global model needs before its first training row.
FEATURE_WARMUP_DAYS = max(LAGS)
#: Days of history that determine every feature of a forecast (lag 1 + 28-day mean;
#: lag 7 + four weeks of same-weekday values), with a margin.
FEATURE_CONTEXT_DAYS = 42
#: Shortest training history a backtest window may have (a week of training rows).
MIN_TRAIN_DAYS = FEATURE_WARMUP_DAYS + 7
#: Weekly season of daily demand.
SEASON_LENGTH = 7
#: Calendar features the global model derives from the date.
DATE_FEATURES = ("dayofweek", "month")

LIGHTGBM = "lightgbm"
SEASONAL_NAIVE = "seasonal_naive"


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the global LightGBM model (small: it trains in seconds)."""

    n_estimators: int = 100
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    num_threads: int = 1
    seed: int = 0
    objective: str = "regression"

    def params(self) -> dict[str, int | float]:
        return asdict(self)


class Forecaster(Protocol):
    """What the backtest and the forecast need from a model family."""

    name: str

    def fit(self, panel: pd.DataFrame) -> Self: ...

    def predict(self, h: int) -> pd.DataFrame: ...

    def params(self) -> dict[str, int | float | str]: ...


class LightGBMForecaster:
    """One LightGBM model over all series, with mlforecast's recursive multi-step forecast."""

    name = LIGHTGBM

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config or ModelConfig()
        self._model: MLForecast | None = None

    def _new_model(self) -> MLForecast:
        cfg = self.config
        regressor = LGBMRegressor(
            n_estimators=cfg.n_estimators,
            learning_rate=cfg.learning_rate,
            num_leaves=cfg.num_leaves,
            min_child_samples=cfg.min_child_samples,
            n_jobs=cfg.num_threads,
            random_state=cfg.seed,
            objective=cfg.objective,
            deterministic=True,
            force_row_wise=True,
            verbosity=-1,
        )
        return MLForecast(
            models={LIGHTGBM: regressor},
            freq="D",
            lags=list(LAGS),
            lag_transforms={
                1: [RollingMean(window_size=7), RollingMean(window_size=28, min_samples=1)],
                7: [
                    RollingMean(window_size=7),
                    SeasonalRollingMean(season_length=SEASON_LENGTH, window_size=4, min_samples=1),
                ],
            },
            date_features=list(DATE_FEATURES),
            num_threads=cfg.num_threads,
        )

    def fit(self, panel: pd.DataFrame) -> Self:
        """Fit on ``unique_id, ds, y`` and any further (exogenous) columns of ``panel``."""
        model = self._new_model()
        model.fit(panel, static_features=[], cache_train_df=False)
        self._model = model
        return self

    @property
    def model(self) -> MLForecast:
        if self._model is None:
            raise RuntimeError("the LightGBM forecaster is not fitted")
        return self._model

    def predict(
        self,
        h: int,
        ids: list[str] | None = None,
        *,
        new_df: pd.DataFrame | None = None,
        X_df: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """``h`` days past the fitted history, or past ``new_df`` (a newer history of the same
        columns); ``X_df`` holds the exogenous features of the forecast days."""
        out = self.model.predict(h, ids=ids, new_df=new_df, X_df=X_df)
        out = out.rename(columns={LIGHTGBM: "y_hat"})
        out["y_hat"] = out["y_hat"].clip(lower=0.0)
        return out[["unique_id", "ds", "y_hat"]].reset_index(drop=True)

    def params(self) -> dict[str, int | float | str]:
        return {
            **self.config.params(),
            "lags": ",".join(map(str, LAGS)),
            "lag_transforms": "rolling_mean7@1,rolling_mean28@1,rolling_mean7@7,"
            "seasonal_rolling_mean7x4@7",
            "date_features": ",".join(DATE_FEATURES),
        }


class SeasonalNaiveForecaster:
    """Tomorrow is the same weekday last week: repeats each series' last season."""

    name = SEASONAL_NAIVE

    def __init__(self, season_length: int = SEASON_LENGTH) -> None:
        self.season_length = season_length
        self._ids: np.ndarray | None = None
        self._last_season: np.ndarray | None = None
        self._last_day: pd.Timestamp | None = None

    def fit(self, panel: pd.DataFrame) -> Self:
        ordered = panel.sort_values(["unique_id", "ds"], kind="stable")
        tail = ordered.groupby("unique_id", sort=True).tail(self.season_length)
        counts = tail.groupby("unique_id", sort=True).size()
        if (counts < self.season_length).any():
            short = counts[counts < self.season_length].index[0]
            raise ValueError(f"series {short} has fewer than {self.season_length} days")
        last_days = tail.groupby("unique_id", sort=True)["ds"].max()
        if last_days.nunique() != 1:
            raise ValueError("the seasonal-naive baseline needs all series to end on one day")
        self._ids = counts.index.to_numpy()
        self._last_season = tail["y"].to_numpy(dtype=float).reshape(-1, self.season_length)
        self._last_day = pd.Timestamp(last_days.iloc[0])
        return self

    def predict(self, h: int) -> pd.DataFrame:
        if self._ids is None or self._last_season is None or self._last_day is None:
            raise RuntimeError("the seasonal-naive forecaster is not fitted")
        steps = np.arange(h)
        values = self._last_season[:, steps % self.season_length]
        days = pd.date_range(self._last_day + pd.Timedelta(days=1), periods=h, freq="D")
        return pd.DataFrame(
            {
                "unique_id": np.repeat(self._ids, h),
                "ds": np.tile(days.to_numpy(), len(self._ids)),
                "y_hat": np.clip(values.ravel(), 0.0, None),
            }
        )

    def params(self) -> dict[str, int | float | str]:
        return {"season_length": self.season_length}


def make_forecaster(family: str, config: ModelConfig | None = None) -> Forecaster:
    """A new, unfitted forecaster of the named family."""
    if family == LIGHTGBM:
        return LightGBMForecaster(config)
    if family == SEASONAL_NAIVE:
        return SeasonalNaiveForecaster()
    raise ValueError(f"unknown model family {family!r}; known: {LIGHTGBM}, {SEASONAL_NAIVE}")
