"""Benchmark of the forecast stage: synthetic demand in a throw-away embedded warehouse.

Generates ``--series`` SKU x store series of ``--days`` days of daily demand (weekly
pattern, trend, Poisson noise; zero days left out, as in the mart), writes them to
``marts.fct_daily_demand`` of a temporary embedded PostgreSQL, runs
:func:`ml.forecast.run_forecast` (backtest, refit, MLflow tracking and registry,
write-back) and prints the wall time of every phase and the backtest metrics.

    uv run python bench/forecast.py --series 1000 --days 120 --threads 1
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


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


def _phase_name(message: str) -> str:
    """A short phase name for a progress line of ``run_forecast``."""
    for prefix, name in (
        ("loading", "load + snapshot hash"),
        ("loaded", "plan windows"),
        ("backtesting lightgbm", "backtest lightgbm"),
        ("backtesting seasonal_naive", "backtest seasonal naive"),
        ("backtest MAE", "(metrics)"),
        ("refitting", "refit on all data + forecast"),
        ("tracking", "MLflow runs + per-series artifacts"),
        ("registering", "MLflow log_model + register"),
        ("writing", "write ml.demand_forecasts"),
        ("done", "(done)"),
    ):
        if message.startswith(prefix):
            return name
    return message


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000, help="SKU x store series")
    parser.add_argument("--days", type=int, default=120, help="days of history")
    parser.add_argument("--horizon", type=int, default=14, help="forecast horizon in days")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM/mlforecast threads")
    parser.add_argument("--trees", type=int, default=100, help="LightGBM n_estimators")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _limit_threads(args.threads)

    from ml.forecast import run_forecast
    from ml.models import ModelConfig
    from ml.synthetic import synthetic_demand, write_demand_table
    from orderhub.settings import Settings, disable_telemetry
    from orderhub.warehouse import EmbeddedPostgres, connect

    disable_telemetry()
    setup: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="orderhub-bench-forecast-") as tmp:
        settings = Settings(home=Path(tmp) / "home")
        server = EmbeddedPostgres(settings)
        started = time.perf_counter()
        url = server.start()
        setup.append(("start embedded warehouse", time.perf_counter() - started))
        try:
            started = time.perf_counter()
            demand = synthetic_demand(n_series=args.series, n_days=args.days, seed=args.seed)
            setup.append(("generate synthetic demand", time.perf_counter() - started))
            started = time.perf_counter()
            with connect(url, autocommit=True) as conn:
                write_demand_table(conn, demand)
            setup.append(("write marts.fct_daily_demand", time.perf_counter() - started))

            clock = PhaseClock()
            started = time.perf_counter()
            result = run_forecast(
                url,
                settings,
                args.horizon,
                progress=lambda message: clock.mark(_phase_name(message)),
                config=ModelConfig(n_estimators=args.trees, num_threads=args.threads),
            )
            clock.stop()
            total = time.perf_counter() - started
        finally:
            server.stop()

    print(
        f"# forecast bench: {args.series} series x {args.days} days, horizon {args.horizon}, "
        f"{args.threads} thread(s), {args.trees} trees; {len(demand)} demand rows"
    )
    print("\n| phase | seconds |\n| --- | ---: |")
    for name, seconds in setup:
        print(f"| setup: {name} | {seconds:.2f} |")
    for name, seconds in clock.phases:
        if not name.startswith("("):
            print(f"| {name} | {seconds:.2f} |")
    print(f"| **run_forecast total** | **{total:.2f}** |")
    print("\n| backtest (3 windows x horizon, step 7) | MAE | WAPE |\n| --- | ---: | ---: |")
    print(f"| lightgbm (global) | {result.model_mae:.3f} | {result.model_wape:.3f} |")
    print(f"| seasonal naive (7) | {result.baseline_mae:.3f} | {result.baseline_wape:.3f} |")
    skill = 1 - result.model_mae / result.baseline_mae
    print(
        f"\nMAE skill vs baseline: {skill:.1%}; rows written: {result.rows_written}; "
        f"model {result.model_name} v{result.model_version}; "
        f"snapshot {result.data_snapshot_hash[:16]}"
    )


if __name__ == "__main__":
    main()
