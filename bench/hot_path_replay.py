"""Benchmark: the hot path's transactions as a sustained live run makes them - trackers
moved again and again, their versions growing - timed per mart, with the plans of one.

In a temporary home: the sandbox scenario polled and built by dbt (``bench/live.py``'s
``build_warehouse``, ``--orders``), the hot path compiled, the sandbox's store in this
process. Then ``--transactions`` times: ``--batch`` trackers moved on (the sandbox's change
maker, least recently moved first, as ``POST /changes`` does), stored as pushes through the
live intake (:class:`orderhub.live.intake.Intake`: a ``push-`` batch, ``live_pending``) and
taken by one :meth:`orderhub.live.hot_path.HotPath.step`. Printed: the mean milliseconds per
transaction of each mart (the worker's ``seconds``, as ``/metrics`` shows them) over each
fifth of the run. With ``--explain FILE``, one more transaction runs with ``auto_explain``
(``ANALYZE``, ``BUFFERS``, nested statements) on the worker's session and every plan goes to
FILE.

With ``--sizes 10,40,160``, transactions of each size run before the replay and after it
(a tracker's history short, then long): fixed cost per transaction against cost per record.

Usage: ``uv run python bench/hot_path_replay.py [--orders 5000] [--transactions 280]
[--batch 40] [--explain plans.txt] [--sizes 10,40,160]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py would
# shadow the ``connectors`` package: drop it (as bench/live.py does).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from orderhub.live.hot_path import HotPath
from orderhub.live.intake import Intake, Item
from orderhub.live.receivers import Pushed
from orderhub.recompute import compile_models
from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres, warehouse_url
from sandbox.changes import changes
from sandbox.scenario import Scenario
from sandbox.store import SandboxStore

_LIVE = Path(__file__).with_name("live.py")


def _bench_live() -> Any:
    """bench/live.py as a module (its ``build_warehouse`` and ``AS_OF``)."""
    spec = importlib.util.spec_from_file_location("bench_live", _LIVE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _push(intake: Intake, store: SandboxStore, batch: int, tick: int) -> float:
    """Move ``batch`` trackers on and store them as pushed; the moved trackers' mean
    number of tracking details (a tracker's history: it has as many versions, less the
    ones it had before the run)."""
    moved = changes(store, "tms", count=batch, seed=tick)
    items, details = [], 0
    for number, change in enumerate(moved):
        record = {k: v for k, v in (store.get("tms", change["key"]) or {}).items() if v is not None}
        details += len(record.get("tracking_details") or [])
        items.append(Item("tms", Pushed(f"evt_{tick}_{number}", record, {"result": record})))
    intake.store(items)
    return details / max(len(moved), 1)


def _sweep(label: str, worker: HotPath, intake: Intake, store: SandboxStore, sizes: str) -> None:
    """Transactions of each size of ``sizes`` (about 160 records each, at least one
    transaction): wall ms per transaction (the whole step, commit included) and per record,
    beside the moved trackers' mean details - fixed cost against per-record cost - and the
    time to move them and store them through the intake (the sandbox's move included)."""
    for size in (int(s) for s in sizes.split(",")):
        repeat, walls, records, details, stored = max(1, 160 // size), 0.0, 0, 0.0, 0.0
        worker.batch = size  # the worker's cap (orderhub.live.hot_path.BATCH) aside
        for n in range(repeat):
            started = time.perf_counter()
            details += _push(intake, store, size, zlib.crc32(f"{label}/{size}/{n}".encode()))
            stored += time.perf_counter() - started
            started = time.perf_counter()
            records += worker.step()
            walls += time.perf_counter() - started
        print(
            f"| {label}, batch {size} | {repeat} transactions, {records} records,"
            f" {details / repeat:.1f} details a tracker | {walls / repeat * 1000:.0f} ms a"
            f" transaction, {walls / max(records, 1) * 1000:.1f} ms a record | moved and"
            f" stored by the intake: {stored / repeat * 1000:.0f} ms a batch |",
            flush=True,
        )


def _explain(worker: HotPath, path: Path) -> None:
    """Turn on auto_explain for the worker's session; its plans are written to ``path``."""
    conn = worker._connection()
    out = path.open("w", encoding="utf-8")
    conn.add_notice_handler(lambda notice: out.write(f"{notice.message_primary}\n\n"))
    for statement in (
        "load 'auto_explain'",
        "set auto_explain.log_min_duration = 0",
        "set auto_explain.log_analyze = on",
        "set auto_explain.log_buffers = on",
        "set auto_explain.log_nested_statements = on",
        "set auto_explain.log_level = notice",
        "set client_min_messages = notice",
    ):
        conn.execute(statement)
    conn.commit()


def _report(label: str, worker: HotPath, steps: int, records: int) -> None:
    marts = ", ".join(
        f"{name} {spent / steps * 1000:.0f}"
        for name, spent in sorted(worker.seconds.items(), key=lambda item: -item[1])
    )
    total = sum(worker.seconds.values())
    print(
        f"| {label}: {steps} transactions, {records} records | {total / steps * 1000:.0f} ms"
        f" ({total / max(records, 1) * 1000:.1f} ms per record) | {marts} |",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--transactions", type=int, default=280)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--explain", type=Path)
    parser.add_argument("--sizes", help="batch sizes to time before and after, e.g. 10,40,160")
    parser.add_argument("--keep", action="store_true", help="leave the warehouse running")
    args = parser.parse_args()
    live = _bench_live()
    home = Path(tempfile.mkdtemp(prefix="orderhub-bench-replay-"))
    settings = Settings(home=home)
    url = warehouse_url(settings)
    try:
        live.build_warehouse(settings, url, args.orders)
        as_of = datetime.fromisoformat(live.AS_OF.replace("Z", "+00:00"))
        store = SandboxStore.from_scenario(
            Scenario(seed=7, orders=args.orders, as_of=as_of, anomalies=0)
        )
        models = compile_models(url, home / "hot_path")
        worker, intake = HotPath(url, lambda _colour: models, args.batch), Intake(url, None)
        if args.sizes:
            _sweep("at the start", worker, intake, store, args.sizes)
        fifth, records, started = max(args.transactions // 5, 1), 0, time.monotonic()
        print("| replay part | ms per transaction | ms per transaction by mart |")
        print("| --- | --- | --- |")
        details = 0.0
        for tick in range(args.transactions):
            details += _push(intake, store, args.batch, tick)
            records += worker.step()
            if (tick + 1) % fifth == 0:
                _report(f"to {tick + 1}, {details / fifth:.0f} details", worker, fifth, records)
                worker.seconds.clear()
                records, details = 0, 0.0
        if args.sizes:
            _sweep("at the end", worker, intake, store, args.sizes)
            worker.batch = args.batch
        print(f"replay took {time.monotonic() - started:.0f} s", file=sys.stderr)
        if args.explain is not None:
            _explain(worker, args.explain)
            _push(intake, store, args.batch, args.transactions)
            worker.step()
        if args.keep:
            print(f"warehouse left running: {url}", file=sys.stderr)
        return 0
    finally:
        if not args.keep:
            EmbeddedPostgres(settings).stop()


if __name__ == "__main__":
    sys.exit(main())
