"""Where a ``bench/live.py`` run's time goes, measured while it runs (``--probe``).

:func:`instrument` restarts the bench's embedded PostgreSQL with ``pg_stat_statements`` and
``auto_explain`` preloaded (statements over :data:`SLOW_MS` have their plan logged to the
server log, without ``ANALYZE``: the plan the session ran, generic or custom).
:class:`Probe`, a thread, samples every :data:`EVERY` seconds:

- each client session's state and wait event (``pg_stat_activity``), by application name:
  how much of its time a hot-path session runs, waits for a lock, for I/O, or idles;
- the queues: ``live_pending`` rows and the age of the oldest, push events stored (per 10 s:
  the intake's rate);
- per process, CPU time and time spent runnable but waiting for a CPU
  (``/proc/<pid>/schedstat``): the hot-path backends, the other backends, ``orderhub
  serve`` (receivers, intake, hot-path threads) and its children, the sandbox, this driver;
  and the machine's busy time (``/proc/stat``: other engineers' work included).

:meth:`Probe.report` adds ``pg_stat_statements`` (top statements by total time) and the
marts' dead rows and (auto)vacuum/analyze counts, as text lines.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
from proc_stats import children, schedstat

from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres

EVERY = 0.1
SLOW_MS = 1000


def instrument(settings: Settings, url: str) -> str:
    """Preload the statistics and plan logging in the bench's server; its URL after the restart."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in (
            ("shared_preload_libraries", "pg_stat_statements,auto_explain"),
            ("pg_stat_statements.max", "10000"),
            ("auto_explain.log_min_duration", f"{SLOW_MS}ms"),
            ("auto_explain.log_nested_statements", "on"),
        ):
            conn.execute(f"alter system set {name} = '{value}'")
    server = EmbeddedPostgres(settings)
    server.stop()
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_stat_statements")
    return url


def _busy() -> tuple[float, float]:
    """The machine's busy and total jiffies since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Probe(threading.Thread):
    """Samples the run (see the module) until :meth:`finish`."""

    def __init__(self, url: str, processes: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.url, self.processes = url, processes
        self.states: Counter[tuple[str, str]] = Counter()
        self.samples = 0
        self.pending: list[tuple[int, float]] = []
        self.stored: list[tuple[float, int]] = []  # (seconds into the run, push events stored)
        self.backends: dict[int, str] = {}
        self.first: dict[int, tuple[float, float]] = {}
        self.last: dict[int, tuple[float, float]] = {}
        self.stop = threading.Event()
        self.busy0 = _busy()
        self.busy1 = self.busy0
        self.started = time.monotonic()

    def _watch(self, pid: int) -> None:
        stat = schedstat(pid)
        self.first.setdefault(pid, stat)
        self.last[pid] = stat

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True, application_name="probe") as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "select pid, coalesce(nullif(application_name, ''), backend_type), state,"
                    " coalesce(wait_event_type || ':' || wait_event, 'cpu')"
                    " from pg_stat_activity where pid <> pg_backend_pid()"
                    " and backend_type = 'client backend'"
                ).fetchall()
                for pid, app, state, wait in rows:
                    self.backends[pid] = app
                    self.states[(app, wait if state == "active" else str(state))] += 1
                    self._watch(pid)
                for pid in self.processes.values():
                    for each in [pid, *children(pid)]:
                        self._watch(each)
                row = conn.execute(
                    "select count(*), coalesce(extract(epoch from now() - min(queued_at)), 0),"
                    " (select count(*) from orderhub_meta.push_events)"
                    " from orderhub_meta.live_pending"
                ).fetchone() or (0, 0.0, 0)
                self.pending.append((int(row[0]), float(row[1])))
                self.stored.append((time.monotonic() - self.started, int(row[2])))
                self.samples += 1
                self.busy1 = _busy()
                time.sleep(EVERY)

    def finish(self) -> list[str]:
        self.stop.set()
        self.join()
        return self.report()

    def _changes(self) -> int:
        """Push events stored while the probe ran."""
        return self.stored[-1][1] - self.stored[0][1] if self.stored else 0

    def _cpu(self, pids: list[int]) -> str:
        on = sum(self.last[p][0] - self.first[p][0] for p in pids if p in self.last)
        wait = sum(self.last[p][1] - self.first[p][1] for p in pids if p in self.last)
        per = (
            f" ({on / changes * 1000:.2f} s per 1,000 changes)"
            if (changes := self._changes())
            else ""
        )
        return f"{on:.1f} s on a CPU{per}, {wait:.1f} s runnable waiting for one"

    def report(self) -> list[str]:
        took = time.monotonic() - self.started
        busy = (self.busy1[0] - self.busy0[0]) / max(1, self.busy1[1] - self.busy0[1])
        load = Path("/proc/loadavg").read_text().strip()
        lines = [f"probe: {self.samples} samples in {took:.0f} s; machine busy {busy:.0%}"
                 f" of {os.cpu_count()} CPUs; loadavg now {load}"]  # fmt: skip
        depth = sorted(n for n, _ in self.pending)
        ages = sorted(a for _, a in self.pending)
        if depth:
            mid = len(depth) // 2
            lines.append(f"live_pending rows p50 {depth[mid]} max {depth[-1]};"
                         f" oldest's age p50 {ages[mid]:.1f} s max {ages[-1]:.1f} s")  # fmt: skip
        if self.stored:
            last = self.stored[-1][1]
            marks = [
                next((n for t, n in self.stored if t >= s), last) for s in range(0, int(took), 10)
            ]
            steps = ", ".join(str(b - a) for a, b in pairwise([*marks, last]))
            lines.append(f"push events stored per 10 s: {steps}")
        apps = sorted({app for app, _ in self.states})
        for app in apps:
            mine = {w: n for (a, w), n in self.states.items() if a == app}
            total = sum(mine.values())
            shares = ", ".join(f"{w} {n / total:.0%}" for w, n in Counter(mine).most_common(8))
            pids = [p for p, a in self.backends.items() if a == app]
            lines.append(f"sessions {app} ({len(pids)}): {shares}; {self._cpu(pids)}")
        lines.append(f"push events stored during the probe: {self._changes()}")
        trees = {pid: {pid, *children(pid)} for pid in self.processes.values()}
        for name, pid in self.processes.items():
            lines.append(f"process {name}: {self._cpu([pid])}")
            # the driver's children apart from serve's and the sandbox's trees
            others = set().union(
                *(tree for p, tree in trees.items() if p != pid and p in trees[pid])
            )
            if own_children := [c for c in trees[pid] - {pid} if c not in others]:
                lines.append(f"process {name}'s children: {self._cpu(own_children)}")
        return lines + self._statements()

    def _statements(self) -> list[str]:
        lines = []
        with psycopg.connect(self.url, autocommit=True) as conn:
            for calls, total, mean, rows, query in conn.execute(
                "select calls, total_exec_time, mean_exec_time, rows,"
                " regexp_replace(left(query, 160), '\\s+', ' ', 'g')"
                " from pg_stat_statements order by total_exec_time desc limit 15"
            ).fetchall():
                lines.append(f"statement: {calls} calls, {total / 1000:.1f} s, mean {mean:.1f} ms,"
                             f" {rows} rows: {query}")  # fmt: skip
            for row in conn.execute(
                "select relname, n_live_tup, n_dead_tup, autovacuum_count, autoanalyze_count,"
                " n_mod_since_analyze from pg_stat_user_tables where schemaname in"
                " ('marts', 'orderhub_meta') and n_tup_upd + n_tup_del > 0"
                " order by n_dead_tup desc limit 12"
            ).fetchall():
                lines.append("table {}: live {}, dead {}, autovacuums {}, autoanalyzes {},"
                             " modified since analyze {}".format(*row))  # fmt: skip
        return lines


def start(url: str, processes: dict[str, Any]) -> Probe:
    """A running probe of the sessions at ``url`` and the processes named (name → pid)."""
    probe = Probe(url, {name: int(pid) for name, pid in processes.items() if pid})
    probe.start()
    return probe
