"""Benchmark of the forecast on real data: The Complete Journey (84.51°) grocery lines.

The order lines of the ``--stores`` busiest stores (``bench/completejourney.py``), for the
commodity x store series that sell on at least ``--min-days`` days of 2017, become the demand
mart's rows as ``fct_daily_demand`` makes them of the file source; the pipeline backtests
every candidate on every level over ``--windows`` rolling-origin windows (14 days, a week
apart), chooses per series on the first ones and scores on the last ``--eval`` ones. Printed:
MAE and MASE (scaled by each series' in-sample seasonal-naive error) of every candidate, of
the chosen forecast and of the reconciled (served) one against seasonal naive, on the same
windows, at every level; interval coverage at 80 % and 95 %.

    uv run python bench/forecast_real.py --stores 40 --min-days 200 --windows 8 --eval 4
"""

from __future__ import annotations

import argparse
import os
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--min-days", type=int, default=200)
    parser.add_argument("--item", default="product_category", help="or product_id")
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--eval", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    from completejourney import daily_demand, order_lines

    from ml.engine import run_backtest
    from ml.features import build_panel
    from ml.models import ModelConfig
    from ml.pipeline import EngineConfig

    lines = order_lines(stores=args.stores, min_days=args.min_days, item=args.item)
    panel = build_panel(daily_demand(lines, item=args.item))
    config = EngineConfig(
        n_windows=args.windows,
        eval_windows=args.eval,
        n_jobs=1,
        gbm=ModelConfig(num_threads=args.threads),
    )
    started = time.perf_counter()
    report, _ = run_backtest(panel, config)
    seconds = time.perf_counter() - started
    print(
        f"# The Complete Journey: {len(lines)} order lines, {panel.n_series} {args.item} x store "
        f"series ({args.stores} stores, >= {args.min_days} selling days), {panel.n_days} days "
        f"({panel.start} to {panel.end}); {args.windows} windows of {report.plan.horizon} days, "
        f"scored on the last {len(report.evaluation_cutoffs)} "
        f"({report.evaluation_cutoffs[0]:%Y-%m-%d} to {report.evaluation_cutoffs[-1]:%Y-%m-%d}"
        f" cutoffs); backtest {seconds:.0f} s"
    )
    print("\n| level | forecast | MAE | MASE | WAPE | MAE / seasonal naive |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in report.accuracy.itertuples(index=False):
        if row.level == "region":
            continue  # one region: the same series as the total
        print(
            f"| {row.level} | {row.forecast} | {row.mae:.3f} | {row.mase:.3f} | {row.wape:.3f} |"
            f" {row.mae_vs_seasonal_naive:.3f} |"
        )
    print("\n| level | coverage 80% | coverage 95% |\n| --- | ---: | ---: |")
    for level, shares in report.coverage.items():
        print(f"| {level} | {shares[80]:.3f} | {shares[95]:.3f} |")
    chosen = report.choices[report.choices["unique_id"].str.contains("|", regex=False)]
    print("\nchosen per SKU series:", chosen["family"].value_counts().to_dict())


if __name__ == "__main__":
    main()
