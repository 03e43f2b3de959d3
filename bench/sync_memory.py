"""Benchmark: the syncing process's peak memory in one system's first sync at N orders,
with a sync's bound on a batch (``connectors.sync.MAX_BATCH_ROWS``) and without it.

    uv run python bench/sync_memory.py --orders 10000 100000 --systems wms

For each size, ``orderhub sandbox`` serves the generated scenario (seed 7) in its own process
(as bench/connectors.py runs it); for each system and each bound, a fresh child process runs
:func:`connectors.sync.sync_system` (the connector is its own subprocess; the loader runs in
the child) into a fresh database of one embedded PostgreSQL, and prints the records, the
batches, the seconds, and the child's peak resident memory (``VmHWM``) before the sync (its
imports) and after it. Prints ``/proc/loadavg`` before and after.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.append(str(Path(__file__).resolve().parent))  # bench/sandbox_sizes.py, after the packages

from sandbox_sizes import sandbox_of, warehouse_server


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmHWM")


def child(system: str, config_json: str, url: str, bound: int | None) -> str:
    """One first sync in this process; its markdown row."""
    import psycopg

    from connectors.batches import stream_totals
    from connectors.catalog import SYSTEMS
    from connectors.loader import ensure_schema
    from connectors.sync import sync_system

    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    before = _peak_mib()
    started = time.perf_counter()
    results = sync_system(system, json.loads(config_json), url, max_batch_rows=bound)
    seconds = time.perf_counter() - started
    stream = SYSTEMS[system].stream_names[0]
    read, new, _ = stream_totals(results, stream)
    parts = sum(1 for result in results if result.stream == stream)
    return (
        f"| {system} | {'none' if bound is None else f'{bound:,}'} | {read:,} read, {new:,} new"
        f" | {parts} | {seconds:.1f} s | {before:,.0f} MiB | {_peak_mib():,.0f} MiB |"
    )


def run_size(orders: int, systems: list[str], server: str, home: Path) -> None:
    from connectors.sync import MAX_BATCH_ROWS
    from orderhub.warehouse import scratch_database

    with sandbox_of(orders, home, systems) as (_, configs):
        for system, config in configs.items():
            for bound in (None, MAX_BATCH_ROWS):
                with scratch_database(server, prefix=f"bench_mem_{system}") as url:
                    row = subprocess.run(
                        [sys.executable, __file__, "--child", system, json.dumps(config), url,
                         str(bound or 0)],
                        check=True, capture_output=True, text=True,
                    ).stdout.strip()  # fmt: skip
                print(f"| {orders:,} {row}", flush=True)


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--child"]:
        system, config_json, url, bound = sys.argv[2:6]
        print(child(system, config_json, url, int(bound) or None), flush=True)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--systems", default="wms")
    args = parser.parse_args(argv)
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    print("| orders | system | bound | records | batches | sync | peak before | peak after |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with warehouse_server("orderhub-bench-mem-") as (server, home):
        for orders in args.orders:
            run_size(orders, args.systems.split(","), server, home / f"sandbox-{orders}")
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
