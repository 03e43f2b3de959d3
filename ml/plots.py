"""The plots people look at, as PNG bytes for MLflow: forecast vs actual with intervals for
the top series, and backtest accuracy per model.

Drawn with matplotlib's Agg backend (no display needed), from a
:class:`~ml.engine.BacktestReport`: the last evaluation window of the total and of the
SKU x store series that sold most, and every candidate's MAE relative to seasonal naive
on the evaluation windows, level by level.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from ml.engine import RECONCILED, BacktestReport
from ml.hierarchy import LEVELS, TOTAL_ID
from ml.intervals import INTERVAL_LEVELS, bound_columns

FORECAST_PLOT = "forecast_vs_actual.png"
ACCURACY_PLOT = "backtest_accuracy.png"


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def forecast_vs_actual(report: BacktestReport, top: int = 5) -> bytes:
    """The total and the ``top`` best-selling SKU x store series over the last evaluation
    window: actual, served (reconciled) forecast, 80 % and 95 % intervals."""
    last = report.evaluation_cutoffs[-1]
    window = report.predictions[report.predictions["cutoff"] == last]
    sku = window[window["level"] == "sku"]
    best = sku.groupby("unique_id")["y"].sum().sort_values(ascending=False).index[:top]
    ids = [TOTAL_ID, *best]
    figure, axes = plt.subplots(len(ids), 1, figsize=(9, 2.3 * len(ids)), squeeze=False)
    for axis, uid in zip(axes[:, 0], ids, strict=True):
        rows = window[window["unique_id"] == uid].sort_values("ds")
        for pct, alpha in zip(sorted(INTERVAL_LEVELS, reverse=True), (0.15, 0.3), strict=False):
            lo, hi = bound_columns(pct)
            axis.fill_between(rows["ds"], rows[lo], rows[hi], alpha=alpha, color="tab:blue",
                              label=f"{pct}% interval")  # fmt: skip
        axis.plot(rows["ds"], rows[RECONCILED], color="tab:blue", label="forecast")
        axis.plot(rows["ds"], rows["y"], color="black", marker="o", ms=3, lw=1, label="actual")
        axis.set_title(f"{uid} (cutoff {last:%Y-%m-%d})", fontsize=9)
        axis.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return _png(figure)


def backtest_accuracy(report: BacktestReport) -> bytes:
    """Each forecast's MAE relative to seasonal naive on the evaluation windows, per level."""
    table = report.accuracy
    levels = [lv for lv in LEVELS if lv in set(table["level"])]
    figure, axes = plt.subplots(1, len(levels), figsize=(3.6 * len(levels), 3.6), squeeze=False)
    for axis, level in zip(axes[0], levels, strict=True):
        rows = table[table["level"] == level]
        colors = ["tab:orange" if f == RECONCILED else "tab:gray" for f in rows["forecast"]]
        axis.barh(rows["forecast"], rows["mae_vs_seasonal_naive"], color=colors)
        axis.axvline(1.0, color="black", lw=0.8)
        axis.axvline(0.8, color="tab:red", lw=0.8, ls="--")
        axis.set_title(f"{level}: MAE / seasonal naive", fontsize=9)
        axis.tick_params(labelsize=7)
        axis.invert_yaxis()
    figure.tight_layout()
    return _png(figure)


def all_plots(report: BacktestReport) -> dict[str, bytes]:
    """Every plot, by artifact file name."""
    return {FORECAST_PLOT: forecast_vs_actual(report), ACCURACY_PLOT: backtest_accuracy(report)}
