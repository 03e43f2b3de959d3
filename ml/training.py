"""Training a challenger: backtest, MLflow run, registration, champion comparison, decision.

One :meth:`Training.train` is one MLflow parent run (:mod:`ml.tracking`): the backtest's
children, per-series metrics, accuracy table and plots; the fitted pipeline registered
as a new version of ``orderhub-demand`` with the alias ``challenger`` (:mod:`ml.registry`).
The champion, when there is one, then forecasts the backtest's evaluation windows from the
same history and the two are compared (:mod:`ml.promotion`); the decision and its numbers
go on the run (metrics ``promotion_*``, tags ``promotion.*``, the artifact
``promotion.json``) and on the version (tag ``promotion``), and ``champion`` moves only
when the challenger wins.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ml.engine import RECONCILED, BacktestReport, run_backtest
from ml.features import DemandPanel
from ml.pipeline import EngineConfig, FittedPipeline, bottom_only
from ml.plots import all_plots
from ml.promotion import Decision, compare, decide
from ml.registry import (
    CHAMPION,
    REGISTERED_MODEL,
    alias_version,
    load_pipeline,
    promote,
    register,
    tag_version,
)
from ml.tracking import SNAPSHOT_TAG, TrackedRun, Tracker, is_local_store
from orderhub.settings import Settings

LOGGER = logging.getLogger("ml.training")
Champion = tuple[str, FittedPipeline]


def champion_predictions(
    champion: FittedPipeline, panel: DemandPanel, report: BacktestReport
) -> pd.DataFrame:
    """The champion's SKU x store forecasts of the evaluation windows, from the same history
    (``unique_id, cutoff, ds, y, y_hat``)."""
    actual = report.predictions[report.predictions["level"] == "sku"]
    frames = []
    for cutoff in report.evaluation_cutoffs:
        out = bottom_only(champion.forecast(panel, report.plan.horizon, cutoff=cutoff))
        frames.append(out[["unique_id", "ds", "y_hat"]].assign(cutoff=cutoff))
    joined = pd.concat(frames, ignore_index=True).merge(
        actual[["unique_id", "cutoff", "ds", "y"]], on=["unique_id", "cutoff", "ds"]
    )
    return joined


def challenger_predictions(report: BacktestReport) -> pd.DataFrame:
    """The challenger's served (reconciled) SKU x store forecasts of the evaluation windows."""
    rows = report.predictions
    rows = rows[(rows["level"] == "sku") & rows["cutoff"].isin(report.evaluation_cutoffs)]
    return rows[["unique_id", "cutoff", "ds", "y"]].assign(y_hat=rows[RECONCILED].to_numpy())


class Training:
    """Trains challengers into one MLflow store and registry."""

    @dataclass(frozen=True)
    class Outcome:
        run_id: str
        challenger_version: str
        decision: Decision
        serving: Champion
        report: BacktestReport

    def __init__(
        self, settings: Settings, config: EngineConfig, say: Callable[[str], None]
    ) -> None:
        local = is_local_store(settings.mlflow_uri)
        self.tracker = Tracker(settings.mlflow_uri, settings.mlflow_artifact_dir if local else None)
        self.config = config
        self.say = say

    def champion(self) -> Champion | None:
        """The version the alias ``champion`` names and its pipeline, or None."""
        with self.tracker.session() as client:
            version = alias_version(client, CHAMPION)
            if version is None:
                return None
            try:
                return version, load_pipeline(client, version)
            except Exception as exc:  # an unreadable champion must not stop the forecast
                LOGGER.warning("the champion v%s cannot be loaded: %s", version, exc)
                self.say(f"the champion v{version} cannot be loaded ({exc}); training anew")
                return None

    def train(self, panel: DemandPanel, champion: Champion | None) -> Training.Outcome:
        """Backtest, track, register, compare, decide (see the module)."""
        report, fitted = run_backtest(panel, self.config, self.say)
        started = datetime.now(UTC)
        with self.tracker.run(
            run_name=f"forecast-{started:%Y%m%dT%H%M%SZ}",
            snapshot_hash=panel.snapshot_hash,
            params=self._params(panel, report),
            tags={"orderhub.stage": "ml"},
        ) as run:
            self.say("tracking the backtest in MLflow (children per family and window, plots)")
            run.log_backtest(report, panel.series[["unique_id", "sku", "store_id", "region"]])
            run.log_metrics(_metrics(report))
            for name, png in all_plots(report).items():
                run.log_png(name, png)
            tags = {SNAPSHOT_TAG: panel.snapshot_hash, "trained_through": str(panel.end)}
            version = register(run.client, run.run_id, fitted, tags)
            self.say(f"registered {REGISTERED_MODEL} v{version} as the challenger")
            decision = self._decide(run, report, panel, champion, version)
        serving = (version, fitted) if decision.promoted or champion is None else champion
        return Training.Outcome(run.run_id, version, decision, serving, report)

    def _decide(
        self,
        run: TrackedRun,
        report: BacktestReport,
        panel: DemandPanel,
        champion: Champion | None,
        version: str,
    ) -> Decision:
        comparison = None
        if champion is not None:
            self.say(f"the champion v{champion[0]} forecasts the same evaluation windows")
            comparison = compare(
                champion_predictions(champion[1], panel, report),
                challenger_predictions(report),
                report.plan.horizon,
            )
        decision = decide(
            comparison,
            version,
            champion[0] if champion else None,
            margin=self.config.promotion_margin,
            alpha=self.config.promotion_alpha,
        )
        if decision.promoted:
            promote(run.client, version)
        tag_version(run.client, version, {"promotion": "promoted" if decision.promoted else "kept"})
        _log_decision(run, decision)
        verb = "promoted to champion" if decision.promoted else "not promoted"
        self.say(f"v{version} {verb}: {decision.reason}")
        return decision

    def _params(self, panel: DemandPanel, report: BacktestReport) -> dict[str, object]:
        plan = report.plan
        return {
            **self.config.params(),
            "series": panel.n_series,
            "history_days": panel.n_days,
            "history_start": panel.start.isoformat(),
            "history_end": panel.end.isoformat(),
            "source_rows": panel.source_rows,
            "backtest_horizon": plan.horizon,
            "backtest_cutoffs": ",".join(f"{c:%Y-%m-%d}" for c in plan.cutoffs),
            "evaluation_cutoffs": ",".join(f"{c:%Y-%m-%d}" for c in report.evaluation_cutoffs),
            "families_sku": ",".join(report.families["sku"]),
            "families_aggregate": ",".join(report.families["aggregate"]),
            "reconciliation": "MinTraceSparse(wls_var, nonnegative)",
            "intervals": "split conformal, normalised, per level x demand class",
        }


def _metrics(report: BacktestReport) -> dict[str, float]:
    """The served forecast's headline metrics and every forecast's accuracy per level."""
    out = dict(report.headline())
    for row in report.accuracy.itertuples(index=False):
        for name in ("mae", "mase", "wape"):
            out[f"{row.level}.{row.forecast}.{name}"] = float(getattr(row, name))
    for level, shares in report.coverage.items():
        for pct, share in shares.items():
            out[f"{level}.coverage_{pct}"] = share
    return out


def _log_decision(run: TrackedRun, decision: Decision) -> None:
    record = decision.record()
    numbers = {
        f"promotion_{k}": float(v)
        for k, v in record.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    numbers["promoted"] = 1.0 if decision.promoted else 0.0
    run.log_metrics(numbers)
    run.set_tags(
        {
            "promotion.decision": "promoted" if decision.promoted else "kept",
            "promotion.reason": decision.reason,
            "promotion.test": decision.test,
        }
    )
    with tempfile.TemporaryDirectory(prefix="orderhub-ml-") as folder:
        path = Path(folder) / "promotion.json"
        path.write_text(json.dumps(record, indent=2, default=str))
        run.client.log_artifact(run.run_id, str(path))
