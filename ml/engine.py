"""The rolling-origin backtest that chooses, reconciles, calibrates and scores the forecast.

:func:`run_backtest` cuts the panel into ``n_windows`` windows (``ml.backtest.plan_windows``)
and forecasts each with every candidate of every level (:mod:`ml.candidates`). The first
windows choose (**selection windows**), the last ``eval_windows`` score (**evaluation
windows**):

1. each series' family is chosen on the selection windows (:func:`ml.selection.choose`);
2. in every window the chosen base forecasts of all levels are reconciled
   (:func:`ml.hierarchy.reconcile`, weighted by the selection windows' errors);
3. conformal intervals are calibrated on the selection windows' reconciled residuals
   (:mod:`ml.intervals`);
4. every candidate, the chosen base forecast and the reconciled one are scored on the
   evaluation windows: MAE, MASE, WAPE and bias per level, and interval coverage.

So the chosen forecast is scored on windows that chose nothing, against every candidate
on the same windows. The fitted pipeline then chooses again on all windows, calibrates on
all windows' reconciled residuals and trains the global model on all the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.backtest import WindowPlan, accuracy, mase_scale, plan_windows
from ml.candidates import ENSEMBLE, LIGHTGBM, gbm_backtest, gbm_fit, mean_of, stat_backtest
from ml.features import DemandPanel
from ml.hierarchy import LEVELS, reconcile
from ml.intervals import INTERVAL_LEVELS, add_intervals, calibrate, coverage
from ml.models import SEASON_LENGTH
from ml.pipeline import (
    AGGREGATE_TIER,
    SKU_TIER,
    EngineConfig,
    FittedPipeline,
    LevelFrames,
    ensemble_members,
)
from ml.selection import choose, cluster_defaults, pick

CHOSEN = "chosen"
RECONCILED = "reconciled"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BacktestReport:
    """What the backtest found.

    ``predictions``: every id, window and day with ``level``, ``y``, each candidate's column,
    ``chosen``, ``reconciled`` and (evaluation windows) the interval bounds. ``accuracy``:
    one row per level and forecast on the evaluation windows (``mae, mase, wape, bias``,
    ``mae_vs_seasonal_naive``). ``coverage``: level -> {80: share, 95: share}.
    """

    plan: WindowPlan
    selection_cutoffs: tuple[pd.Timestamp, ...]
    evaluation_cutoffs: tuple[pd.Timestamp, ...]
    families: dict[str, tuple[str, ...]]
    predictions: pd.DataFrame
    choices: pd.DataFrame
    accuracy: pd.DataFrame
    coverage: dict[str, dict[int, float]]
    scale: pd.Series

    def all_forecasts(self) -> tuple[str, ...]:
        """Every forecast column: each tier's candidates, then the chosen and reconciled."""
        names = [f for tier in self.families.values() for f in tier]
        return (*dict.fromkeys(names), CHOSEN, RECONCILED)

    def headline(self, level: str = "sku") -> dict[str, float]:
        """The level's served (reconciled) accuracy and coverage, for MLflow and the store."""
        rows = self.accuracy[self.accuracy["level"] == level].set_index("forecast")
        served = rows.loc[RECONCILED]
        base = rows.loc["seasonal_naive"]
        out = {
            "model_mae": float(served["mae"]),
            "model_mase": float(served["mase"]),
            "model_wape": float(served["wape"]),
            "model_bias": float(served["bias"]),
            "baseline_mae": float(base["mae"]),
            "baseline_mase": float(base["mase"]),
            "baseline_wape": float(base["wape"]),
        }
        for pct, share in self.coverage.get(level, {}).items():
            out[f"coverage_{pct}"] = share
        return out


def split_cutoffs(plan: WindowPlan, eval_windows: int) -> tuple[tuple, tuple]:
    """(selection, evaluation) cutoffs; one window both chooses and scores."""
    if plan.n_windows <= 1:
        return plan.cutoffs, plan.cutoffs
    k = min(eval_windows, plan.n_windows - 1)
    return plan.cutoffs[:-k], plan.cutoffs[-k:]


def _candidates(
    frames: LevelFrames, plan: WindowPlan, config: EngineConfig, families, say: Progress
) -> tuple[pd.DataFrame, object]:
    """Every candidate's backtest forecasts of every id (one wide frame) and the LightGBM
    model trained for it."""
    sku_stats = [f for f in families[SKU_TIER] if f not in (LIGHTGBM, ENSEMBLE)]
    say(f"backtesting {', '.join(sku_stats)} on {len(frames.hierarchy.bottom_ids)} SKU series")
    sku = stat_backtest(
        frames.sku, sku_stats, plan, history_days=config.history_days, n_jobs=config.n_jobs
    )
    say(f"backtesting {LIGHTGBM} (global, trained to {plan.cutoffs[0]:%Y-%m-%d})")
    gbm, model = gbm_backtest(
        frames.sku, frames.exog, plan, config.gbm, train_days=config.train_days
    )
    sku = sku.merge(gbm, on=["unique_id", "cutoff", "ds"], how="left", validate="1:1")
    agg_stats = [f for f in families[AGGREGATE_TIER] if f != ENSEMBLE]
    say(f"backtesting {', '.join(agg_stats)} on {len(frames.hierarchy.aggregate_ids)} aggregates")
    agg = stat_backtest(
        frames.aggregate, agg_stats, plan, history_days=config.history_days, n_jobs=config.n_jobs
    )
    for tier, frame in ((SKU_TIER, sku), (AGGREGATE_TIER, agg)):
        frame[ENSEMBLE] = mean_of(frame, ensemble_members(families[tier]))
    wide = pd.concat([agg, sku], ignore_index=True)
    wide.insert(1, "level", wide["unique_id"].map(frames.hierarchy.level_of))
    return wide, model


def _choose(wide: pd.DataFrame, cutoffs, clusters: pd.Series, families, margin) -> pd.DataFrame:
    """Each id's family, from its absolute errors over ``cutoffs``."""
    rows = wide[wide["cutoff"].isin(cutoffs)]
    choices = []
    is_sku = rows["level"] == "sku"
    for tier, part in ((SKU_TIER, rows[is_sku]), (AGGREGATE_TIER, rows[~is_sku])):
        names = list(families[tier])
        errors = (part[names].sub(part["y"], axis=0)).abs()
        errors["unique_id"] = part["unique_id"].to_numpy()
        summed = errors.groupby("unique_id", sort=False)[names].sum().reset_index()
        choices.append(choose(summed, clusters, names, margin))
    return pd.concat(choices, ignore_index=True)


def _reconcile_windows(frames: LevelFrames, wide: pd.DataFrame, residual_cutoffs) -> pd.Series:
    """The reconciled ``chosen`` forecast of every window, residuals from ``residual_cutoffs``."""
    used = wide[wide["cutoff"].isin(residual_cutoffs)]
    residuals = used[["unique_id", "cutoff", "ds", "y"]].assign(y_hat=used[CHOSEN].to_numpy())
    out = pd.Series(np.nan, index=wide.index)
    for _cutoff, part in wide.groupby("cutoff", sort=True):
        base = part[["unique_id", "ds"]].assign(y_hat=part[CHOSEN].to_numpy())
        coherent = reconcile(frames.hierarchy, base, residuals)
        key = pd.MultiIndex.from_frame(part[["unique_id", "ds"]])
        values = coherent.set_index(["unique_id", "ds"])["y_hat"].reindex(key)
        out.loc[part.index] = values.to_numpy()
    return out


def _score(wide: pd.DataFrame, cutoffs, families, scale: pd.Series) -> pd.DataFrame:
    """Accuracy of every forecast column on ``cutoffs``, per level."""
    rows = []
    scored = wide[wide["cutoff"].isin(cutoffs)]
    for level in LEVELS:
        part = scored[scored["level"] == level]
        if part.empty:
            continue
        tier = SKU_TIER if level == "sku" else AGGREGATE_TIER
        for column in (*families[tier], CHOSEN, RECONCILED):
            rows.append({"level": level, "forecast": column, **accuracy(part, column, scale)})
    table = pd.DataFrame(rows)
    baseline = table[table["forecast"] == "seasonal_naive"].set_index("level")["mae"]
    table["mae_vs_seasonal_naive"] = table["mae"] / table["level"].map(baseline)
    return table


def run_backtest(
    panel: DemandPanel, config: EngineConfig, progress: Progress | None = None
) -> tuple[BacktestReport, FittedPipeline]:
    """Backtest, choose, reconcile, calibrate and score; then fit the final pipeline."""
    say = progress or (lambda _message: None)
    plan = plan_windows(
        pd.Timestamp(panel.start),
        pd.Timestamp(panel.end),
        config.horizon,
        n_windows=config.n_windows,
        step=config.step,
        min_train_days=config.min_train_days,
    )
    selection, evaluation = split_cutoffs(plan, config.eval_windows)
    frames = LevelFrames.of(panel, extra_days=config.horizon)
    families = config.families(panel.n_series)
    wide, _ = _candidates(frames, plan, config, families, say)
    clusters = frames.clusters(panel, plan.cutoffs[0], config.history_days)
    scale = _mase_scale(frames, panel, plan.cutoffs[0], config.history_days)
    say(f"choosing per series on {len(selection)} window(s); reconciling every window")
    choices = _choose(wide, selection, clusters, families, config.selection_margin)
    wide[CHOSEN] = pick(wide, choices)
    wide[RECONCILED] = _reconcile_windows(frames, wide, selection)
    interval_scale = frames.scale(panel, plan.cutoffs[0], config.history_days)
    wide = _with_intervals(wide, selection, evaluation, interval_scale, clusters)
    report = BacktestReport(
        plan=plan,
        selection_cutoffs=tuple(selection),
        evaluation_cutoffs=tuple(evaluation),
        families=families,
        predictions=wide,
        choices=choices,
        accuracy=_score(wide, evaluation, families, scale),
        coverage=_coverage(wide, evaluation),
        scale=scale,
    )
    say(f"refitting {LIGHTGBM} on all {panel.n_days} days; choosing on all windows")
    fitted = _final(panel, frames, wide, plan, config, families, interval_scale)
    fitted.backtest = report.headline()
    served = report.accuracy[report.accuracy["forecast"] == RECONCILED]
    fitted.expected_wape = dict(zip(served["level"], served["wape"].astype(float), strict=True))
    return report, fitted


def _mase_scale(frames: LevelFrames, panel: DemandPanel, cutoff, days: int) -> pd.Series:
    hi = (cutoff - pd.Timestamp(panel.start)).days + 1
    sku = panel.matrix[:, max(0, hi - days) : hi]
    history = np.vstack([frames.hierarchy.aggregate(sku), sku])
    return pd.Series(mase_scale(history, SEASON_LENGTH), index=frames.hierarchy.ids)


def _residual_scores(wide: pd.DataFrame, cutoffs, scale: pd.Series, clusters: pd.Series):
    rows = wide[wide["cutoff"].isin(cutoffs)]
    score = (rows["y"] - rows[RECONCILED]) / rows["unique_id"].map(scale)
    return pd.DataFrame({"group": rows["unique_id"].map(clusters), "score": score})


def _with_intervals(wide, selection, evaluation, scale, clusters) -> pd.DataFrame:
    """Interval bounds on the evaluation windows, calibrated on the selection windows."""
    calibration = calibrate(_residual_scores(wide, selection, scale, clusters))
    rows = wide["cutoff"].isin(evaluation)
    part = wide.loc[rows, ["unique_id", "y"]].assign(y_hat=wide.loc[rows, RECONCILED])
    scored = add_intervals(
        part,
        part["unique_id"].map(scale).to_numpy(dtype=float),
        part["unique_id"].map(clusters),
        calibration,
    )
    for pct in INTERVAL_LEVELS:
        for column in (f"lo_{pct}", f"hi_{pct}"):
            wide.loc[rows, column] = scored[column].to_numpy()
    return wide


def _coverage(wide: pd.DataFrame, evaluation) -> dict[str, dict[int, float]]:
    rows = wide[wide["cutoff"].isin(evaluation)]
    return {
        level: {pct: coverage(part, pct) for pct in INTERVAL_LEVELS}
        for level, part in rows.groupby("level", sort=False)
    }


def _final(panel, frames, wide, plan, config, families, scale) -> FittedPipeline:
    """The pipeline production uses: chosen on all windows, trained on all data."""
    clusters_now = frames.clusters(panel, pd.Timestamp(panel.end), config.history_days)
    choices = _choose(wide, plan.cutoffs, clusters_now, families, config.selection_margin)
    clusters_then = frames.clusters(panel, plan.cutoffs[0], config.history_days)
    calibration = calibrate(_residual_scores(wide, plan.cutoffs, scale, clusters_then))
    residuals = wide[["unique_id", "cutoff", "ds", "y"]].assign(y_hat=wide[CHOSEN].to_numpy())
    model = gbm_fit(frames.sku, frames.exog, config.gbm, pd.Timestamp(panel.end), config.train_days)
    return FittedPipeline(
        config=config,
        families=families,
        choices=choices,
        defaults=cluster_defaults(choices),
        gbm=model,
        calibration=calibration,
        residuals=residuals,
        trained_through=panel.end,
    )
