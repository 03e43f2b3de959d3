"""Benchmark: the whole batch flow at a given size, time per order per stage, peak memory
per process.

    uv run python bench/scale.py --orders 10000
    uv run python bench/scale.py --orders 100000

Runs ``orderhub demo --orders N --no-live`` (the whole flow through Dagster, no live
burst) in a fresh home as a child process, and samples every second the processes it
runs: the orderhub process itself, the sandbox, the connectors (airbyte-cdk
subprocesses), dbt, and the embedded PostgreSQL (found by its data folder; its backends
are its children). Afterwards it reads the run's step times from the Dagster instance
of the home and each dbt model's time from the build's ``run_results.json``, and prints:

- each Dagster step: seconds and milliseconds per order (connectors with the loader,
  dbt, the checks, the forecast, fulfilment, the ledger);
- the dbt models that cost most, in microseconds per order;
- per process class: the peak resident memory of its largest process and the CPU
  seconds of all of them (PostgreSQL: also the peak of the sum of its processes'
  proportional set size, which counts shared buffers once);
- ``/proc/loadavg`` before and after (the machine is shared: read the figures with it).

One size per invocation; run sizes one at a time (two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ORDERHUB = Path(sys.executable).with_name("orderhub")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, resident bytes) of ``pid``, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, int(fields[21]) * PAGE


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _classify(pid: int, root: int, cmd: str) -> str:
    if pid == root:
        return "orderhub"
    if cmd.startswith("postgres"):
        return "postgres"
    if "source-declarative-manifest" in cmd or "airbyte" in cmd:
        return "connector"
    if "/dbt " in cmd or cmd.startswith("dbt "):
        return "dbt"
    if "sandbox" in cmd:
        return "sandbox"
    return "other"


class Sampler(threading.Thread):
    """Every second: the processes of the demo (its descendants) and of its PostgreSQL."""

    def __init__(self, root: int, pgdata: Path) -> None:
        super().__init__(daemon=True)
        self.root, self.pgdata = root, str(pgdata)
        self.peak_rss: dict[str, int] = defaultdict(int)
        self.peak_pg_pss = 0
        self.cpu: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()

    def _sample(self) -> None:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                stats[int(entry)] = stat
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (ppid, _, _) in stats.items():
            children[ppid].append(pid)
        roots = [self.root]
        roots += [p for p in stats if self.pgdata in _cmdline(p) and "postgres" in _cmdline(p)]
        seen, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid not in seen and pid in stats:
                seen.add(pid)
                todo.extend(children[pid])
        pg_pss = 0
        for pid in seen:
            # classified at every sample: a child seen between fork and exec still has
            # its parent's command line
            kind = _classify(pid, self.root, _cmdline(pid))
            _, cpu, rss = stats[pid]
            self.cpu[pid] = (kind, cpu)
            self.peak_rss[kind] = max(self.peak_rss[kind], rss)
            if kind == "postgres":
                pg_pss += _pss(pid)
        self.peak_pg_pss = max(self.peak_pg_pss, pg_pss)

    def run(self) -> None:
        while not self.done.wait(1.0):
            self._sample()

    def cpu_seconds(self) -> dict[str, float]:
        total: dict[str, float] = defaultdict(float)
        for kind, cpu in self.cpu.values():
            total[kind] += cpu
        return total


def step_times(home: Path) -> list[tuple[str, float]]:
    """Each step of every Dagster run of the home (the demo launches the main job, then the
    daily partitions): (step key, seconds), in start order."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        stats = [s for run in instance.get_runs() for s in instance.get_run_step_stats(run.run_id)]
    timed = [s for s in stats if s.start_time and s.end_time]
    timed.sort(key=lambda s: s.start_time or 0)
    return [(s.step_key, (s.end_time or 0) - (s.start_time or 0)) for s in timed]


def dbt_models(home: Path) -> list[tuple[str, float]]:
    """Each node of the build's ``run_results.json``: (unique id, seconds), slowest first."""
    found: list[tuple[str, float]] = []
    for path in (home / "dbt" / "runs").glob("canonical_models-*/run_results.json"):
        for result in json.loads(path.read_text())["results"]:
            found.append((result["unique_id"], float(result["execution_time"])))
    return sorted(found, key=lambda r: -r[1])


def run(orders: int, seed: int, top: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-scale-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    env["ORDERHUB_HOME"] = str(home)
    load_before = Path("/proc/loadavg").read_text().strip()
    command = [str(ORDERHUB), "demo", "--orders", str(orders), "--seed", str(seed), "--no-live"]
    started = time.perf_counter()
    try:
        process = subprocess.Popen(command, env=env, stdout=sys.stderr)
        sampler = Sampler(process.pid, home / "pgdata")
        sampler.start()
        status = process.wait()
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        if status != 0:
            raise SystemExit(f"orderhub demo --orders {orders} failed (status {status})")
        report(orders, seconds, sampler, step_times(home), dbt_models(home), top, load_before)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(
    orders: int,
    seconds: float,
    sampler: Sampler,
    steps: list[tuple[str, float]],
    models: list[tuple[str, float]],
    top: int,
    load_before: str,
) -> None:
    per = 1000 / orders
    print(f"\nscale benchmark: orderhub demo --orders {orders} --no-live, {seconds:.1f} s wall, "
          f"{seconds * per:.2f} ms/order")  # fmt: skip
    print(f"{'step':<44} {'s':>8} {'ms/order':>9}")
    for key, spent in steps:
        print(f"{key:<44} {spent:8.1f} {spent * per:9.3f}")
    print(f"\n{'dbt model (slowest ' + str(top) + ')':<60} {'s':>7} {'us/order':>9}")
    for node, spent in [m for m in models if m[0].startswith("model.")][:top]:
        print(f"{node:<60} {spent:7.2f} {spent * per * 1000:9.1f}")
    kinds: dict[str, list[float]] = defaultdict(list)
    for node, spent in models:
        kinds[node.split(".", 1)[0]].append(spent)
    print("dbt nodes by type: " + ", ".join(
        f"{kind} {len(times)} ({sum(times):.1f} s)" for kind, times in sorted(kinds.items())
    ))  # fmt: skip
    cpu = sampler.cpu_seconds()
    print(f"\n{'process':<12} {'peak RSS MiB':>13} {'CPU s':>8}")
    for kind in ("orderhub", "connector", "dbt", "postgres", "sandbox", "other"):
        print(f"{kind:<12} {sampler.peak_rss[kind] / 2**20:13.0f} {cpu.get(kind, 0):8.1f}")
    print(f"postgres, all processes: peak PSS {sampler.peak_pg_pss / 2**20:.0f} MiB")
    print(f"load before: {load_before}")
    print(f"load after:  {Path('/proc/loadavg').read_text().strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=15, help="dbt nodes to list")
    args = parser.parse_args(argv)
    run(args.orders, args.seed, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
