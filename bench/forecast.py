"""Benchmark of the forecast at scale: synthetic daily demand, backtest + fit + reconcile +
forecast, wall time per phase and peak memory.

Generates ``--series`` SKU x store series of ``--days`` days (weekly pattern, trend,
promotions, Poisson noise; zero days left out, as in the mart) over ``--stores`` stores in
four regions, builds the panel, and runs the pipeline as a training run does: the rolling-
origin backtest of every candidate on every level (statsforecast on the aggregates and the
intermittent families on the SKUs, the global LightGBM on the SKUs), the per-series choice,
the reconciliation of every window, the conformal calibration, the final fit, and the
champion's forecast of every level with intervals. Peak memory is the process's
``ru_maxrss``.

    uv run python bench/forecast.py --series 10000 --days 730 --threads 2

``--warehouse`` runs :func:`ml.forecast.run_forecast` instead, end to end in a throw-away
embedded PostgreSQL and MLflow store (load, monitoring, MLflow runs and registry, write-back).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


def _limit_threads(threads: int) -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


class PhaseClock:
    """Wall time between progress messages: each message starts a phase."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self._current: str | None = None
        self._since = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.phases.append((self._current, now - self._since))
        self._current, self._since = phase, now

    def stop(self) -> None:
        self.mark("")
        self._current = None


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pipeline(panel: Any, config: Any, clock: PhaseClock) -> tuple[Any, Any]:
    from ml.engine import run_backtest

    report, fitted = run_backtest(panel, config, progress=clock.mark)
    clock.mark("champion forecast of every level (stat refit, LightGBM, reconcile, intervals)")
    forecasts = fitted.forecast(panel, config.horizon)
    clock.stop()
    return report, forecasts


def _warehouse(demand: Any, settings_home: Path, config: Any, clock: PhaseClock) -> Any:
    from ml.forecast import run_forecast
    from ml.synthetic import write_demand_table
    from orderhub.settings import Settings
    from orderhub.warehouse import EmbeddedPostgres, connect

    settings = Settings(home=settings_home)
    server = EmbeddedPostgres(settings)
    url = server.start()
    try:
        with connect(url, autocommit=True) as conn:
            write_demand_table(conn, demand)
        result = run_forecast(url, settings, config.horizon, progress=clock.mark, config=config)
        clock.stop()
        return result
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000, help="SKU x store series")
    parser.add_argument("--days", type=int, default=730, help="days of history")
    parser.add_argument("--stores", type=int, default=50, help="stores (in four regions)")
    parser.add_argument("--horizon", type=int, default=14, help="forecast horizon in days")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM/mlforecast threads")
    parser.add_argument("--trees", type=int, default=100, help="LightGBM n_estimators")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warehouse", action="store_true", help="run_forecast end to end")
    args = parser.parse_args(argv)
    _limit_threads(args.threads)

    from ml.features import build_panel
    from ml.models import ModelConfig
    from ml.pipeline import EngineConfig
    from ml.synthetic import synthetic_demand

    started = time.perf_counter()
    demand = synthetic_demand(
        n_series=args.series, n_days=args.days, seed=args.seed, stores=args.stores
    )
    generated = time.perf_counter() - started
    config = EngineConfig(
        horizon=args.horizon,
        n_jobs=args.threads,
        gbm=ModelConfig(n_estimators=args.trees, num_threads=args.threads),
    )
    clock = PhaseClock()
    started = time.perf_counter()
    if args.warehouse:
        with tempfile.TemporaryDirectory(prefix="orderhub-bench-forecast-") as tmp:
            result = _warehouse(demand, Path(tmp) / "home", config, clock)
        headline = {"model_mae": result.model_mae, "baseline_mae": result.baseline_mae}
        coverage = {80: result.coverage_80, 95: result.coverage_95}
    else:
        clock.mark("build the panel")
        panel = build_panel(demand)
        report, _ = _pipeline(panel, config, clock)
        headline, coverage = report.headline(), report.coverage["sku"]
    total = time.perf_counter() - started
    _print(args, len(demand), generated, clock, total, headline, coverage)


def _print(
    args: argparse.Namespace,
    rows: int,
    generated: float,
    clock: PhaseClock,
    total: float,
    headline: dict[str, float],
    coverage: dict[int, float],
) -> None:
    mode = "run_forecast end to end" if args.warehouse else "pipeline in memory"
    print(
        f"# forecast bench ({mode}): {args.series} series x {args.days} days, "
        f"{args.stores} stores, horizon {args.horizon}, {args.threads} thread(s), "
        f"{args.trees} trees; {rows} demand rows (generated in {generated:.1f} s)"
    )
    print("\n| phase | seconds |\n| --- | ---: |")
    for name, seconds in clock.phases:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total** | **{total:.1f}** |")
    print(f"\npeak RSS: {peak_rss_mib():.0f} MiB")
    ratio = headline["model_mae"] / headline["baseline_mae"]
    print(
        f"SKU level, evaluation windows: MAE {headline['model_mae']:.3f} vs seasonal naive "
        f"{headline['baseline_mae']:.3f} ({ratio:.3f}); coverage 80% {coverage[80]:.3f}, "
        f"95% {coverage[95]:.3f}"
    )


if __name__ == "__main__":
    main()
