"""The forecasting pipeline: its settings, and the fitted pipeline a model version holds.

A :class:`FittedPipeline` is what the backtest chose and trained (:mod:`ml.engine`): the
family of every series (and each cluster's default for a series it has not seen), the
global LightGBM model, the conformal calibration and the residuals that weight the
reconciliation. :meth:`FittedPipeline.forecast` turns any demand panel into coherent
forecasts with intervals at every level of the hierarchy, from the history up to a
cutoff: the statistical families are refit on that history, the LightGBM model is used
as trained. The registered MLflow model wraps one (:mod:`ml.registry`), and the champion
re-forecasts a challenger's backtest windows with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ml.backtest import MIN_TRAIN_DAYS
from ml.candidates import (
    ENSEMBLE,
    INTERMITTENT_FAMILIES,
    LIGHTGBM,
    SEASONAL_NAIVE,
    SLOW_FAMILIES,
    gbm_forecast,
    mean_of,
    stat_forecast,
)
from ml.exog import Exogenous
from ml.features import DemandPanel
from ml.hierarchy import BOTTOM, Hierarchy, build_hierarchy, reconcile
from ml.intervals import INTERVAL_LEVELS, Calibration, add_intervals, series_scale
from ml.models import SEASON_LENGTH, LightGBMForecaster, ModelConfig
from ml.selection import DEFAULT_MARGIN, demand_classes

SKU_TIER = "sku"
AGGREGATE_TIER = "aggregate"


@dataclass(frozen=True)
class EngineConfig:
    """How the pipeline backtests, chooses and fits (every field is an MLflow parameter)."""

    horizon: int = 14
    n_windows: int = 6
    eval_windows: int = 3
    step: int = 7
    history_days: int = 365
    train_days: int = 365
    slow_sku_max_series: int = 1000
    selection_margin: float = DEFAULT_MARGIN
    n_jobs: int = 1
    promotion_margin: float = 0.02
    promotion_alpha: float = 0.05
    gbm: ModelConfig = field(default_factory=ModelConfig)
    min_train_days: int = MIN_TRAIN_DAYS

    def params(self) -> dict[str, object]:
        flat = {k: v for k, v in asdict(self).items() if k != "gbm"}
        flat.update({f"gbm.{k}": v for k, v in self.gbm.params().items()})
        return flat

    def families(self, n_sku_series: int) -> dict[str, tuple[str, ...]]:
        """The candidates of each tier: the SKU level gets the intermittent families and
        the global model (and AutoETS/AutoTheta when small enough), the aggregates the
        smooth ones; both get the baseline and the ensemble."""
        slow = SLOW_FAMILIES if n_sku_series <= self.slow_sku_max_series else ()
        return {
            SKU_TIER: (SEASONAL_NAIVE, *slow, *INTERMITTENT_FAMILIES, LIGHTGBM, ENSEMBLE),
            AGGREGATE_TIER: (SEASONAL_NAIVE, *SLOW_FAMILIES, ENSEMBLE),
        }


def ensemble_members(families: tuple[str, ...]) -> tuple[str, ...]:
    """What a tier's ensemble averages: its candidates but the baseline and itself."""
    return tuple(f for f in families if f not in (SEASONAL_NAIVE, ENSEMBLE))


@dataclass(frozen=True)
class LevelFrames:
    """The panel's history as long frames: SKU series and aggregates (``unique_id, ds, y``)."""

    hierarchy: Hierarchy
    sku: pd.DataFrame
    aggregate: pd.DataFrame
    exog: Exogenous

    @classmethod
    def of(cls, panel: DemandPanel, extra_days: int) -> LevelFrames:
        hierarchy = build_hierarchy(panel.series)
        totals = hierarchy.aggregate(panel.matrix)
        days = pd.date_range(panel.start, panel.end, freq="D")
        aggregate = pd.DataFrame(
            {
                "unique_id": np.repeat(hierarchy.aggregate_ids, len(days)),
                "ds": np.tile(days.to_numpy(), len(hierarchy.aggregate_ids)),
                "y": totals.ravel(),
            }
        )
        return cls(hierarchy, panel.frame, aggregate, Exogenous.of(panel, max(extra_days, 1)))

    def clusters(self, panel: DemandPanel, cutoff: pd.Timestamp, days: int) -> pd.Series:
        """``<level>/<demand class>`` of every id, from the ``days`` up to ``cutoff``."""
        hi = (cutoff - pd.Timestamp(panel.start)).days + 1
        lo = max(0, hi - days)
        sku = panel.matrix[:, lo:hi]
        history = np.vstack([self.hierarchy.aggregate(sku), sku])
        levels = [self.hierarchy.level_of[i] for i in self.hierarchy.ids]
        classes = demand_classes(history)
        return pd.Series(
            [f"{lv}/{c}" for lv, c in zip(levels, classes, strict=True)],
            index=self.hierarchy.ids,
        )

    def scale(self, panel: DemandPanel, cutoff: pd.Timestamp, days: int) -> pd.Series:
        """The interval scale of every id, from the ``days`` up to ``cutoff``."""
        hi = (cutoff - pd.Timestamp(panel.start)).days + 1
        sku = panel.matrix[:, max(0, hi - days) : hi]
        history = np.vstack([self.hierarchy.aggregate(sku), sku])
        return pd.Series(series_scale(history, SEASON_LENGTH), index=self.hierarchy.ids)


@dataclass
class FittedPipeline:
    """A trained pipeline: choices, global model, calibration (see the module docstring)."""

    config: EngineConfig
    families: dict[str, tuple[str, ...]]
    choices: pd.DataFrame
    defaults: dict[str, str]
    gbm: LightGBMForecaster
    calibration: Calibration
    residuals: pd.DataFrame | None
    trained_through: date
    #: The backtest's headline metrics (SKU level) and WAPE per level: what monitoring expects.
    backtest: dict[str, float] = field(default_factory=dict)
    expected_wape: dict[str, float] = field(default_factory=dict)

    def family_of(self, clusters: pd.Series) -> pd.Series:
        """The family of every id in ``clusters`` (id -> cluster): its own choice, else its
        cluster's default, else the baseline."""
        known = self.choices.set_index("unique_id")["family"]
        family = pd.Series(clusters.index.map(known), index=clusters.index)
        missing = family.isna()
        family[missing] = clusters[missing].map(self.defaults).fillna(SEASONAL_NAIVE)
        return family

    def forecast(
        self, panel: DemandPanel, h: int | None = None, cutoff: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """``unique_id, level, ds, y_hat, lo_80, hi_80, lo_95, hi_95`` for every id of the
        panel's hierarchy, ``h`` days after ``cutoff`` (default: the panel's last day),
        from the history up to it."""
        h = h or self.config.horizon
        cutoff = pd.Timestamp(cutoff if cutoff is not None else panel.end)
        frames = LevelFrames.of(panel, extra_days=h)
        clusters = frames.clusters(panel, cutoff, self.config.history_days)
        family = self.family_of(clusters)
        tiers = (
            (SKU_TIER, frames.sku, frames.hierarchy.bottom_ids),
            (AGGREGATE_TIER, frames.aggregate, frames.hierarchy.aggregate_ids),
        )
        base = []
        for tier, frame, ids in tiers:
            history = frame[frame["ds"] <= cutoff]
            base.append(self._tier_forecast(tier, history, family[ids], frames.exog, cutoff, h))
        combined = pd.concat(base, ignore_index=True)
        coherent = reconcile(frames.hierarchy, combined, self.residuals)
        scale = frames.scale(panel, cutoff, self.config.history_days)
        out = add_intervals(
            coherent,
            coherent["unique_id"].map(scale).to_numpy(dtype=float),
            coherent["unique_id"].map(clusters),
            self.calibration,
            INTERVAL_LEVELS,
        )
        out.insert(1, "level", out["unique_id"].map(frames.hierarchy.level_of))
        return out

    def _tier_forecast(
        self,
        tier: str,
        history: pd.DataFrame,
        family: pd.Series,
        exog: Exogenous,
        cutoff: pd.Timestamp,
        h: int,
    ) -> pd.DataFrame:
        """Base forecasts (``unique_id, ds, y_hat``) of one tier's ids, each by its family."""
        members = ensemble_members(self.families[tier])
        needs: dict[str, set[str]] = {}
        for uid, fam in family.items():
            for needed in members if fam == ENSEMBLE else (fam,):
                needs.setdefault(needed, set()).add(uid)
        parts = []
        for fam, ids in sorted(needs.items()):
            if fam == LIGHTGBM:
                out = gbm_forecast(self.gbm, history, exog, cutoff, h)
                out = out[out["unique_id"].isin(ids)]
            else:
                rows = history[history["unique_id"].isin(ids)]
                out = stat_forecast(rows, [fam], h, history_days=self.config.history_days)
            parts.append(out.set_index(["unique_id", "ds"])[fam])
        wide = pd.concat(parts, axis=1).reset_index()
        chosen = wide["unique_id"].map(family)
        y_hat = np.full(len(wide), np.nan)
        for fam in chosen.unique():
            rows = (chosen == fam).to_numpy()
            if fam == ENSEMBLE:
                y_hat[rows] = mean_of(wide.loc[rows], members)
            else:
                y_hat[rows] = wide.loc[rows, fam].to_numpy(dtype=float)
        return pd.DataFrame({"unique_id": wide["unique_id"], "ds": wide["ds"], "y_hat": y_hat})


def bottom_only(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The SKU x store rows of a pipeline forecast."""
    return forecasts[forecasts["level"] == BOTTOM].reset_index(drop=True)
