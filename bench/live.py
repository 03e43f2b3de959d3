"""Benchmark: the live path under sustained load - source change to /orders, and to a
subscriber - with the subscriber and the hot-path worker disturbed mid-run.

In a temporary home: an embedded PostgreSQL holding the sandbox scenario (``--orders``),
polled and built by dbt; ``orderhub serve`` in its own process; ``python -m sandbox --push``
in its own process; a local subscriber (``tests/orderhub/subscriber.py``: Standard Webhooks
verification, dedupe on webhook-id) registered for everything. For each rate of
``--rates`` (status events per second) the driver asks the sandbox every 50 ms to move
trackers on (``POST /changes``: each change the next tracking detail a carrier sends - a new
hub, out for delivery, a failed attempt, back at the depot - pushed as an EasyPost event,
the least recently moved trackers first) for ``--seconds``, and reports the rate achieved
(changes made per second of the run) beside these:
- change → visible in /orders: from the request to the moment the change's event is in
  ``fct_order_status_events`` (written in the transaction that recomputed the order's row of
  ``/orders``), polled every 20 ms by the pending changes' orders and event times;
- change → delivered: from the request to the subscriber's receipt of the order's
  ``status_changed`` whose ``updated_at`` is the change's event time;
- lost, duplicated after dedupe and reordered deliveries: every outbox row must arrive
  once, one order's in cursor order - with the subscriber stopped at a third of the run and
  started again at half, and the hot-path sessions killed mid-batch at two thirds.

``--orders``: 20,000 by default (692 trackers in flight, ~17 moves each at 200/s for 60 s;
docs/live.md, "Is the load realistic?"). ``--probe``: bench/live_probe.py's figures too.
Usage: ``uv run python bench/live.py [--rates 200,1000] [--seconds 60] [--orders 20000]
[--probe]``; progress goes to stderr, the figures (a markdown table) to stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py would
# shadow the ``connectors`` package: it goes last; the test subscriber comes from tests/orderhub.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "orderhub"))
sys.path.append(str(Path(__file__).resolve().parent))  # bench/live_*.py, after the packages

import httpx
import live_probe
import psycopg
from live_visibility import Visibility
from subscriber import Subscriber

from connectors.sync import load_records
from orchestration.bootstrap import prepare_warehouse
from orderhub.cli.sandbox import SandboxProcess, sandbox_command
from orderhub.dbt_env import dbt_env, dbt_executable
from orderhub.live import subscriptions
from orderhub.live.burst import percentile
from orderhub.live.hot_path import APPLICATION_NAME
from orderhub.live.signatures import webhook_secret
from orderhub.seeds import PROJECT_DIR
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import EmbeddedPostgres, free_port, warehouse_url
from sandbox.scenario import Scenario
from sandbox.store import CURSOR_FIELD, SandboxStore

AS_OF = "2026-10-20T00:00:00Z"
TICK = 0.05


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build_warehouse(settings: Settings, url: str, orders: int) -> None:
    """The scenario's records polled into the warehouse and built by dbt."""
    prepare_warehouse(settings, url)
    as_of = datetime.fromisoformat(AS_OF.replace("Z", "+00:00"))
    store = SandboxStore.from_scenario(Scenario(seed=7, orders=orders, as_of=as_of, anomalies=0))
    for system in API_SYSTEMS:
        records = [{k: v for k, v in r.items() if v is not None} for r in store.records(system)]
        load_records(url, system, records, max(r[CURSOR_FIELD[system]] for r in records))
    work = settings.home_dir / "dbt"
    done = subprocess.run(
        [dbt_executable(), "build", "--exclude", "resource_type:test",
         "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--quiet"],
        env={**os.environ, **dbt_env(url)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"dbt build failed: {done.stdout}{done.stderr}")


def start_service(home: Path, url: str, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    env.update(ORDERHUB_HOME=str(home), ORDERHUB_DATABASE_URL=url, ORDERHUB_SERVE_PORT=str(port))
    log = (home / "serve.log").open("w")
    service = subprocess.Popen(
        [sys.executable, "-m", "orderhub.cli", "serve"], env=env, stdout=log, stderr=log, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError("orderhub serve did not start; see serve.log")


def drive(
    sandbox: str, rate: int, seconds: float, vis: Visibility, faults: Any
) -> tuple[list[Any], float]:
    """Ask for ``rate`` changes a second for ``seconds`` (a request every :data:`TICK`, each
    asking what the run is behind by, so a slow answer is caught up); the changes made,
    with times, and the seconds it took."""
    asked: list[Any] = []
    started, tick = time.monotonic(), 0
    with httpx.Client(timeout=30) as client:
        while (elapsed := time.monotonic() - started) < seconds:
            faults(elapsed / seconds)
            due = min(int(rate * min(seconds, elapsed + TICK)) - len(asked), int(rate * TICK * 4))
            now = time.monotonic()
            changed = client.post(
                f"{sandbox}/changes", json={"system": "tms", "count": max(due, 0), "seed": tick}
            ).json()["changed"]
            for change in changed:
                vis.add(change["key"], str(change["order_id"]), change["event_at"], now)
                asked.append((change, now, time.time()))
            tick += 1
            time.sleep(max(0.0, started + tick * TICK - time.monotonic()))
    return asked, time.monotonic() - started


def kill_hot_path(url: str) -> int:
    """End the hot-path workers' sessions (mid-batch when one is running); how many."""
    with psycopg.connect(url, autocommit=True) as conn:
        ended = "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s"
        return len(conn.execute(ended, (APPLICATION_NAME,)).fetchall())


class Faults:
    """Stop the subscriber at a third of the run, start it at half, kill the worker at 2/3."""

    def __init__(self, url: str, subscriber: Subscriber) -> None:
        self.url, self.subscriber, self.done = url, subscriber, set()
        #: When the subscriber was stopped and started again (wall clock).
        self.down = [float("inf"), float("inf")]

    def __call__(self, progress: float) -> None:
        if progress > 1 / 3 and "stop" not in self.done:
            self.done.add("stop")
            self.subscriber.stop()
            self.down[0] = time.time()
            say("  subscriber stopped")
        if progress > 1 / 2 and "start" not in self.done:
            self.done.add("start")
            self.subscriber = self.subscriber.again().start()
            self.down[1] = time.time()
            say("  subscriber started again")
        if progress > 2 / 3 and "kill" not in self.done:
            self.done.add("kill")
            say(f"  hot-path sessions killed: {kill_hot_path(self.url)}")


def delivered(
    url: str, sub: Subscriber, asked: list[Any], after: int
) -> tuple[list[tuple[float, float]], dict[str, int]]:
    """Latencies to the subscriber, and lost / duplicated / reordered counts, of the outbox
    rows after cursor ``after`` (this run's)."""
    with psycopg.connect(url) as conn:
        outbox = {
            f"msg_{change_id}": order_id
            for change_id, order_id in conn.execute(
                "select change_id, order_id from orderhub_meta.outbox where change_id > %s",
                (after,),
            )
        }
    mine = [r for r in sub.received if int(r[0][4:]) > after]
    received_ids = [r[0] for r in mine]
    per_order: dict[str, list[int]] = {}
    for msg_id, payload, _ in mine:
        per_order.setdefault(payload["order_id"], []).append(int(msg_id[4:]))
    reordered = sum(1 for ids in per_order.values() for a, b in pairwise(ids) if b < a)
    first_at: dict[tuple[str, str], float] = {}
    for _, payload, when in mine:
        if payload.get("type") == "order.status_changed":
            moment = str(payload.get("updated_at", ""))[:19] + "Z"
            first_at.setdefault((payload["order_id"], moment), when)
    seconds = []
    for change, _, wall in asked:
        when = first_at.get((change["order_id"], change["event_at"]))
        if when is not None and when >= wall:
            seconds.append((wall, when - wall))
    counts = {"outbox rows": len(outbox), "lost": len(set(outbox) - set(received_ids)),
              "duplicated after dedupe": len(received_ids) - len(set(received_ids)),
              "redeliveries deduped": sub.duplicates, "reordered": reordered}  # fmt: skip
    return seconds, counts


def stages(
    url: str, sub: Subscriber, asked: list[Any], after: int, before: float = float("inf")
) -> list[str]:
    """Where a status change's time to the subscriber goes, p50 / p95 per stage: asked →
    outbox row written (the hot path's transaction), → first delivery attempt (the job
    picked), → received by the subscriber; of the changes asked before ``before`` (wall)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select o.change_id, o.order_id, o.payload->>'updated_at',"
            " extract(epoch from o.created_at),"
            " extract(epoch from min(d.first_attempt_at)) from orderhub_meta.outbox o"
            " join orderhub_meta.deliveries d using (change_id)"
            " where o.change_id > %s and o.kind = 'status_changed'"
            " group by o.change_id, o.order_id, o.payload, o.created_at",
            (after,),
        ).fetchall()
    walls = {(c["order_id"], c["event_at"]): wall for c, _, wall in asked if wall < before}
    got = {int(msg_id[4:]): when for msg_id, _, when in sub.received}
    spans: dict[str, list[float]] = {"→ outbox": [], "outbox → picked": [], "picked → received": []}
    for change_id, order_id, updated_at, written, picked in rows:
        wall = walls.get((order_id, str(updated_at)[:19] + "Z"))
        when = got.get(change_id)
        if wall is None or picked is None or when is None:
            continue
        spans["→ outbox"].append(float(written) - wall)
        spans["outbox → picked"].append(float(picked) - float(written))
        spans["picked → received"].append(when - float(picked))
    return [
        f"{name} p50 {percentile(v, 0.5) * 1000:.0f} ms, p95 {percentile(v, 0.95) * 1000:.0f} ms"
        for name, v in spans.items()
        if v
    ]


def wait_drained(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (left,) = conn.execute(
                "select (select count(*) from orderhub_meta.deliveries where delivered_at is null"
                " and dead_at is null) + (select count(*) from orderhub_meta.live_pending)"
            ).fetchone() or (0,)
            if not left:
                return
            time.sleep(0.5)
    say("  deliveries still pending after the wait")


def run_rate(
    url: str, sandbox: str, sub: Subscriber, rate: int, seconds: float
) -> tuple[list[str], Subscriber]:
    """One sustained run; the markdown rows of its figures, and the subscriber now."""
    with psycopg.connect(url) as conn:
        row = conn.execute("select coalesce(max(change_id), 0) from orderhub_meta.outbox")
        (after,) = row.fetchone() or (0,)
    vis = Visibility(url)
    poller = threading.Thread(target=vis.run)
    poller.start()
    faults = Faults(url, sub)
    asked, took = drive(sandbox, rate, seconds, vis, faults)
    vis.deadline = time.monotonic() + 20
    vis.stop.set()
    poller.join()
    wait_drained(url)
    sub = faults.subscriber
    to_sub, counts = delivered(url, sub, asked, after)
    shown = list(vis.seen.values())
    keys = len({change["key"] for change, _, _ in asked})
    rows = [
        f"| {rate}/s asked for {seconds:.0f} s: made {len(asked)} changes in {took:.1f} s"
        f" ({len(asked) / took:.0f}/s achieved) on {keys} trackers, seen in /orders"
        f" {len(shown)} |"
    ]
    stopped, started = faults.down
    up = [took for wall, took in to_sub if not stopped <= wall <= started]
    back = [took for wall, took in to_sub if wall > started]
    for name, values in (
        ("→ /orders", shown),
        ("→ subscriber", [took for _, took in to_sub]),
        ("→ subscriber, changes made while it was up", up),
        ("→ subscriber, changes made after it came back", back),
    ):
        if values:
            p50, p95, p99 = (percentile(values, q) * 1000 for q in (0.5, 0.95, 0.99))
            rows.append(f"| {rate}/s {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms,"
                        f" p99 {p99:.0f} ms (n={len(values)}) |")  # fmt: skip
    spans = "; ".join(stages(url, sub, asked, after))
    rows.append(f"| {rate}/s stages to the subscriber: {spans} |")
    spans = "; ".join(stages(url, sub, asked, after, before=stopped))
    rows.append(f"| {rate}/s stages, changes made before the subscriber was stopped: {spans} |")
    tally = ", ".join(f"{k} {v}" for k, v in counts.items())
    rows.append(f"| {rate}/s deliveries: {tally} |")
    for row in rows:
        say(row)
    return rows, sub


def hot_path_row(rate: int, port: int) -> str:
    """The hot-path workers' totals so far: transactions, records, seconds per mart; the
    dispatcher's mean seconds per timing (orderhub.live.dispatch.TIMINGS)."""
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).json()
    workers, sent = metrics["hot_path"], metrics["dispatch"]
    means = ", ".join(
        f"{k} {sent[k] / sent[k + '_n'] * 1000:.0f} ms (n={sent[k + '_n']})"
        for k in ("to_job", "in_job", "fetch") if sent.get(k + "_n")
    )  # fmt: skip
    seconds: dict[str, float] = {}
    for worker in workers:
        for name, spent in worker.get("seconds", {}).items():
            seconds[name] = seconds.get(name, 0.0) + spent
    spent = ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
    done = ", ".join(f"{sum(w[k] for w in workers)} {k}" for k in ("transactions", "records"))
    return f"| after {rate}/s, hot path so far: {done}; {spent}; dispatcher: {means} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,1000")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--probe", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-live-"))
    settings = Settings(home=home)
    url = warehouse_url(settings)
    service = None
    try:
        say(f"building the warehouse ({args.orders} orders)")
        build_warehouse(settings, url, args.orders)
        url = live_probe.instrument(settings, url) if args.probe else url
        list(map(lambda system: webhook_secret(settings, system), API_SYSTEMS))
        sub = Subscriber().start()
        with psycopg.connect(url) as conn:
            _, sub.secret = subscriptions.add(conn, sub.url)
        port = free_port()
        say("starting orderhub serve (compiles the hot path)")
        service = start_service(home, url, port)
        command = sandbox_command(
            settings, orders=args.orders, seed=7, anomalies=0, port=0, as_of=AS_OF
        )
        command += ["--push", f"http://127.0.0.1:{port}"]
        rows = []
        with SandboxProcess(command) as sandbox:
            for rate in (int(r) for r in args.rates.split(",")):
                say(f"rate {rate}/s for {args.seconds} s")
                pids = {"serve": service.pid, "sandbox": sandbox.pid, "driver": os.getpid()}
                probe = live_probe.start(url, pids) if args.probe else None
                found, sub = run_rate(url, sandbox.root_url, sub, rate, args.seconds)
                rows += [*found, hot_path_row(rate, port), *(probe.finish() if probe else [])]
                say(rows[-1])
        print("\n".join(rows))
        return 0
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=20)
        EmbeddedPostgres(settings).stop()


if __name__ == "__main__":
    sys.exit(main())
