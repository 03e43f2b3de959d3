"""Benchmark: one hot-path transaction (:meth:`orderhub.live.hot_path.HotPath.step`) for 1,
10 and 100 pending trackers, at ``--orders`` orders.

In a temporary home: the sandbox scenario polled and built by dbt (as ``bench/live.py``
builds it), the hot path compiled; then, per size, ``--repeat`` transactions, each with that
many trackers queued in ``orderhub_meta.live_pending`` (different trackers each time). The
first transaction of a size prepares its statements; the median is printed, and the mean
milliseconds each mart took per transaction (the worker's ``seconds``, as in ``/metrics``).

Usage: ``uv run python bench/hot_path_step.py [--orders 2000] [--repeat 12]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from orderhub.live.hot_path import HotPath
from orderhub.recompute import compile_models
from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres, warehouse_url

_LIVE = Path(__file__).with_name("live.py")


def _build_warehouse() -> object:
    """bench/live.py's ``build_warehouse`` (the same scenario and dbt build)."""
    spec = importlib.util.spec_from_file_location("bench_live", _LIVE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_warehouse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=12)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-step-"))
    settings = Settings(home=home)
    url = warehouse_url(settings)
    try:
        _build_warehouse()(settings, url, args.orders)  # type: ignore[operator]
        models = compile_models(url, home / "hot_path")
        worker = HotPath(url, lambda _colour: models)
        with psycopg.connect(url, autocommit=True) as conn:
            keys = [row[0] for row in conn.execute(
                "select distinct record_key from raw_tms.trackers order by 1"
            )]  # fmt: skip
        offset = 0
        for size in (1, 10, 100):
            times = []
            worker.seconds.clear()
            for _ in range(args.repeat):
                batch = (keys[offset:] + keys)[:size]
                offset = (offset + size) % len(keys)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(
                        "insert into orderhub_meta.live_pending (system, record_key)"
                        " select 'tms', k from unnest(%s::text[]) as k on conflict do nothing",
                        (batch,),
                    )
                started = time.perf_counter()
                worker.step()
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"| {args.orders} orders, {size} pushed trackers | median"
                f" {statistics.median(times):.0f} ms (first {times[0]:.0f} ms,"
                f" n={len(times)}) |"
            )
            marts = ", ".join(f"{name} {sec / len(times) * 1000:.0f}" for name, sec in sorted(
                worker.seconds.items(), key=lambda item: -item[1]
            ))  # fmt: skip
            print(f"|   ms per transaction by mart: {marts} |")
        return 0
    finally:
        EmbeddedPostgres(settings).stop()


if __name__ == "__main__":
    sys.exit(main())
