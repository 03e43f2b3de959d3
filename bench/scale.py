"""Benchmark: the whole batch flow at a given size, time per order per stage, peak memory
per process.

    uv run python bench/scale.py --orders 10000
    uv run python bench/scale.py --orders 100000 --moves 0.01

Runs ``orderhub demo --orders N --no-live`` (the whole flow through Dagster, no live
burst) in a fresh home as a child process; with ``--moves F`` the sandbox then moves the
newest share F of the orders on and the flow runs again, twice (the first incremental run
after an initial load re-reads the whole load; the second is the steady state). It samples
every second the processes it runs: the orderhub process itself, the sandbox, the
connectors (airbyte-cdk subprocesses), dbt, and the embedded PostgreSQL (found by its data
folder; its backends are its children). Afterwards it reads the runs' step times from the
Dagster instance of the home and each dbt model's time from the builds' ``run_results.json``,
and prints:

- each Dagster run (the initial run, the incremental one, the daily partitions): its wall
  time, and each step's seconds and milliseconds per order (connectors with the loader,
  dbt, the checks, the forecast, fulfilment, the ledger);
- per build of the canonical models, the dbt models that cost most, in microseconds per
  order;
- per process class: the peak resident memory of its largest process, the Dagster step
  running when that peak was sampled (where the high-water mark was last raised, not
  necessarily what holds the memory) and the CPU seconds of all of them (PostgreSQL: also
  the peak of the sum of its processes' proportional set size, which counts shared
  buffers once);
- ``/proc/loadavg`` before and after (the machine is shared: read the figures with it).

One size per invocation; run sizes one at a time (two cores). ``--keep`` keeps the home
afterwards, to read a model's plan or profile a step on its warehouse.
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
from dataclasses import dataclass
from pathlib import Path

import proc_stats

ORDERHUB = Path(sys.executable).with_name("orderhub")


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
    if "connectors.launch" in cmd or "source-declarative-manifest" in cmd or "airbyte" in cmd:
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
        #: when (epoch seconds) each kind's peak was sampled
        self.peak_at: dict[str, float] = {}
        self.peak_pg_pss = 0
        self.cpu: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()

    def _sample(self) -> None:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := proc_stats.stat(int(entry))) is not None:
                stats[int(entry)] = stat
        children: dict[int, list[int]] = defaultdict(list)
        for pid, found in stats.items():
            children[found.parent].append(pid)
        roots = [self.root]
        roots += [p for p in stats if self.pgdata in _cmdline(p) and "postgres" in _cmdline(p)]
        seen, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid not in seen and pid in stats:
                seen.add(pid)
                todo.extend(children[pid])
        pg_pss = 0
        now = time.time()
        for pid in seen:
            # classified at every sample: a child seen between fork and exec still has
            # its parent's command line; an exiting process has none (keep what it was)
            cmd = _cmdline(pid)
            if cmd or pid not in self.cpu:
                kind = _classify(pid, self.root, cmd)
            else:
                kind = self.cpu[pid][0]
            cpu, rss = stats[pid].cpu, stats[pid].resident
            self.cpu[pid] = (kind, cpu)
            if rss > self.peak_rss[kind]:
                self.peak_rss[kind], self.peak_at[kind] = rss, now
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


#: What each run of the main job is, in order (``--moves``: the sandbox plays three rounds).
RUN_LABELS = (
    " (initial run)",
    " (first incremental run: re-reads the whole load, connectors/README.md)",
    " (incremental run)",
)


@dataclass
class RunTimes:
    """One Dagster run of the home: its job, partition, wall time and steps."""

    job: str
    partition: str | None
    seconds: float
    steps: list[tuple[str, float, float]]  # key, seconds, start (epoch seconds)


def run_times(home: Path) -> list[RunTimes]:
    """Every Dagster run of the home (the demo launches the main job once per round, then
    the daily partitions), oldest first, with each step's (key, seconds, start in epoch
    seconds) in start order."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    from dagster import DagsterInstance

    found = []
    with DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            stats = instance.get_run_step_stats(record.dagster_run.run_id)
            timed = sorted((s for s in stats if s.start_time and s.end_time),
                           key=lambda s: s.start_time or 0)  # fmt: skip
            steps = [
                (s.step_key, (s.end_time or 0) - (s.start_time or 0), s.start_time or 0)
                for s in timed
            ]
            wall = (record.end_time or 0) - (record.start_time or 0)
            found.append((record.start_time or 0, RunTimes(
                record.dagster_run.job_name, record.dagster_run.tags.get("dagster/partition"),
                wall, steps,
            )))  # fmt: skip
    return [run for _, run in sorted(found, key=lambda pair: pair[0])]


def dbt_builds(home: Path) -> list[list[tuple[str, float]]]:
    """Each build of the canonical models, oldest first: every node of its
    ``run_results.json`` as (unique id, seconds), slowest first."""
    paths = sorted((home / "dbt" / "runs").glob("canonical_models-*/run_results.json"),
                   key=lambda path: path.stat().st_mtime)  # fmt: skip
    builds = []
    for path in paths:
        results = json.loads(path.read_text())["results"]
        nodes = [(r["unique_id"], float(r["execution_time"])) for r in results]
        builds.append(sorted(nodes, key=lambda r: -r[1]))
    return builds


def run(orders: int, seed: int, top: int, moves: float, keep: bool = False) -> None:
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-scale-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    env["ORDERHUB_HOME"] = str(home)
    load_before = Path("/proc/loadavg").read_text().strip()
    command = [str(ORDERHUB), "demo", "--orders", str(orders), "--seed", str(seed), "--no-live"]
    command += ["--moves", str(moves)] if moves else []
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
            raise SystemExit(f"{' '.join(command[1:])} failed (status {status})")
        print(f"\nscale benchmark: {' '.join(['orderhub', *command[1:]])}, {seconds:.1f} s "
              f"wall, {seconds * 1000 / orders:.2f} ms/order")  # fmt: skip
        runs = run_times(home)
        report_runs(orders, runs, dbt_builds(home), top)
        report_processes(sampler, runs, load_before)
    finally:
        if keep:
            print(f"home kept: {home} (ORDERHUB_HOME={home} orderhub api starts its warehouse)")
        else:
            shutil.rmtree(home, ignore_errors=True)


def report_runs(
    orders: int, runs: list[RunTimes], builds: list[list[tuple[str, float]]], top: int
) -> None:
    """Each run's wall time and steps; each build's slowest models and nodes by type."""
    per = 1000 / orders
    main_runs = 0
    for run in runs:
        name = run.job + (f" [{run.partition}]" if run.partition else "")
        if run.partition is None:
            main_runs += 1
            name += RUN_LABELS[min(main_runs, len(RUN_LABELS)) - 1]
        print(f"\n{name}: {run.seconds:.1f} s wall")
        print(f"{'step':<44} {'s':>8} {'ms/order':>9}")
        for key, spent, _ in run.steps:
            print(f"{key:<44} {spent:8.1f} {spent * per:9.3f}")
    for number, models in enumerate(builds, 1):
        print(f"\nbuild {number} of the canonical models: dbt models (slowest {top})"
              f"{'':<17} {'s':>7} {'us/order':>9}")  # fmt: skip
        for kind in ("model", "test"):
            if kind == "test":
                print(f"data tests (slowest {top})")
            for node, spent in [m for m in models if m[0].startswith(kind + ".")][:top]:
                print(f"{node[:60]:<60} {spent:7.2f} {spent * per * 1000:9.1f}")
        kinds: dict[str, list[float]] = defaultdict(list)
        for node, spent in models:
            kinds[node.split(".", 1)[0]].append(spent)
        print("dbt nodes by type: " + ", ".join(
            f"{kind} {len(times)} ({sum(times):.1f} s)" for kind, times in sorted(kinds.items())
        ))  # fmt: skip


def step_at(runs: list[RunTimes], moment: float | None) -> str:
    """The Dagster step that was running at ``moment`` (epoch seconds), if any."""
    if moment is None:
        return "-"
    for run in runs:
        for key, spent, start in run.steps:
            if start <= moment <= start + spent:
                return key
    return "-"


def report_processes(sampler: Sampler, runs: list[RunTimes], load_before: str) -> None:
    """Peak memory (and the step it was reached in) and CPU per process class, and the
    load around the run."""
    cpu = sampler.cpu_seconds()
    print(f"\n{'process':<12} {'peak RSS MiB':>13} {'CPU s':>8}  peak reached in step")
    for kind in ("orderhub", "connector", "dbt", "postgres", "sandbox", "other"):
        at = step_at(runs, sampler.peak_at.get(kind))
        print(f"{kind:<12} {sampler.peak_rss[kind] / 2**20:13.0f} {cpu.get(kind, 0):8.1f}  {at}")
    print(f"postgres, all processes: peak PSS {sampler.peak_pg_pss / 2**20:.0f} MiB")
    print(f"load before: {load_before}")
    print(f"load after:  {Path('/proc/loadavg').read_text().strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=15, help="dbt nodes to list")
    parser.add_argument(
        "--moves", type=float, default=0.0,
        help="then move this share of the orders on and run again (0.01: 1%%)",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the home afterwards (to EXPLAIN a model or profile a step on its warehouse)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    run(args.orders, args.seed, args.top, args.moves, args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
