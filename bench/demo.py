"""Benchmark: ``orderhub demo`` wall time and peak memory at the default size and larger.

For each size it runs ``orderhub demo --orders N`` in a fresh home (embedded PostgreSQL,
sandbox, every asset through Dagster) as a child process and prints the wall time, the
peak resident memory of the orderhub process (``ru_maxrss`` of the child; the PostgreSQL
server and the connector subprocesses are separate processes and not included) and the
time per order. Runs are sequential: the machine has two cores.

Usage: ``uv run python bench/demo.py [--sizes 400,4000] [--seed 7]``. Progress goes to
stderr, the figures to stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ORDERHUB = Path(sys.executable).with_name("orderhub")


def run_once(orders: int, seed: int) -> tuple[float, float]:
    """Run the demo once in a fresh home; return (seconds, peak RSS of the child in MiB)."""
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-demo-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    env["ORDERHUB_HOME"] = str(home)
    try:
        command = [str(ORDERHUB), "demo", "--orders", str(orders), "--seed", str(seed)]
        started = time.perf_counter()
        # the demo's output goes to our stderr; it stops the PostgreSQL it started itself
        process = subprocess.Popen(command, env=env, stdout=sys.stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"orderhub demo --orders {orders} failed (status {status})")
        return seconds, usage.ru_maxrss / 1024
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400,4000", help="comma-separated order counts")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    for orders in sizes:
        print(f"bench: demo with {orders} orders ...", file=sys.stderr, flush=True)
        seconds, rss = run_once(orders, args.seed)
        rows.append((orders, seconds, rss))
    print(f"{'orders':>8} {'wall s':>8} {'peak RSS MiB':>13} {'ms/order':>9}")
    for orders, seconds, rss in rows:
        print(f"{orders:8d} {seconds:8.1f} {rss:13.0f} {1000 * seconds / orders:9.1f}")
    if len(rows) > 1:
        base = rows[0]
        for orders, seconds, rss in rows[1:]:
            print(
                f"{orders}/{base[0]} orders: wall time x{seconds / base[1]:.2f}, "
                f"peak RSS x{rss / base[2]:.2f}"
            )


if __name__ == "__main__":
    main()
