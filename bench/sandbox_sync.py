"""Benchmark: one system's first sync (connector and loader) against the sandbox at several
sizes, and the sandbox's memory, to tell whether a sync grows faster than the orders.

    uv run python bench/sandbox_sync.py --orders 10000 100000 --systems wms,tms

For each size, ``orderhub sandbox`` serves a generated scenario of that many orders in its
own process (as :mod:`bench.connectors` runs it); each system is synced once, end to end
(:func:`connectors.sync.sync_system`, the API's largest page), into a fresh database of an
embedded PostgreSQL. Prints the records, seconds and records/s of each sync, and the
sandbox's resident and peak memory (``/proc/<pid>/status``) after it started and after each
sync. Progress goes to stderr, the figures to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

sys.path.append(str(Path(__file__).resolve().parent))  # bench/sandbox_sizes.py, after the packages

import psycopg
from sandbox_sizes import sandbox_of, warehouse_server

from connectors.batches import stream_totals
from connectors.catalog import SYSTEMS
from connectors.loader import ensure_schema
from connectors.sync import sync_system
from orderhub.warehouse import scratch_database


def memory(pid: int) -> str:
    """Resident and peak resident memory of ``pid``."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rss, peak = (int(status[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM"))
    return f"RSS {rss} MiB, peak {peak} MiB"


def run_size(orders: int, systems: list[str], server: str, home: Path) -> None:
    with sandbox_of(orders, home, systems) as (pid, configs):
        print(f"{orders} orders: sandbox started, {memory(pid)}", flush=True)
        for system, config in configs.items():
            with scratch_database(server, prefix=f"bench_sync_{system}") as url:
                with psycopg.connect(url) as conn:
                    ensure_schema(conn)
                started = time.perf_counter()
                results = sync_system(system, config, url)
                seconds = time.perf_counter() - started
            read = stream_totals(results, SYSTEMS[system].stream_names[0])[0]
            print(
                f"{orders} orders: {system} first sync {read} records in "
                f"{seconds:.1f} s ({read / seconds:,.0f} records/s); sandbox "
                f"{memory(pid)}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--systems", default="wms,tms")
    args = parser.parse_args(argv)
    with warehouse_server("orderhub-bench-sync-") as (server, home):
        for orders in args.orders:
            run_size(orders, args.systems.split(","), server, home / f"sandbox-{orders}")
        print(f"load {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
