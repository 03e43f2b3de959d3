"""Benchmark: ``orderhub audit trace`` and ``verify`` of one order on a realistic warehouse.

    uv run python bench/ledger_trace.py                       # 5,000 orders, embedded PostgreSQL
    uv run python bench/ledger_trace.py --orders 20000 --filler 100000

Builds, in a fresh database: one first-sync batch per source system (ERP, CRM, WMS,
TMS: one record per order each, loaded by the real loader) plus a few small
incremental batches, their ``extraction_batch`` events in the provenance log among
``--filler`` other events, one canonical event per record version in
``marts.fct_order_status_events``, a signed checkpoint and a witness cosignature.
Then traces random orders (:func:`orderhub.audit.trace_order`) from the batch trees the
loader stored as each batch succeeded, verifies each bundle offline
(:func:`ledger.bundle.verify_bundle`), times ``orderhub audit repair-trees`` rebuilding
every tree of a home whose batches have none (:func:`orderhub.audit.repair_trees`), and
prints the times, the bundle size, and the wall time of the two CLI commands for one order.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import psycopg

from connectors.catalog import SYSTEMS
from connectors.schema import ensure_schema
from connectors.sync import load_records
from ledger.bundle import verify_bundle
from ledger.keys import load_or_create_signer, public_key_path
from ledger.log import ProvenanceLog
from ledger.receipts import anchor_latest
from orchestration.anchoring import witness_anchor
from orchestration.provenance import extraction_event
from orderhub.audit import repair_trees, trace_order
from orderhub.progress import say
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.settings import SIGNING_KEY_FILE, Settings, disable_telemetry
from orderhub.warehouse import scratch_database

#: The cursor every loaded batch's state ends at.
CURSOR = "2026-10-31T00:00:00Z"


def record(system: str, order: int, version: int, rng: random.Random) -> dict[str, Any]:
    """A record of ``system`` about order ``order`` (its ``version``-th state)."""
    stream = SYSTEMS[system].streams[0]
    day = 1 + version
    base: dict[str, Any] = {
        stream.primary_key: f"{system.upper()}-{order:07d}",
        stream.cursor_field: f"2026-10-{day:02d}T{order % 24:02d}:00:00Z",
        "order": f"SO-{order:07d}",
        "status": rng.choice(["A", "B", "C", "in_transit", "delivered", "Fulfilled"]),
        "amount": round(rng.uniform(5, 500), 2),
        "lines": [
            {"sku": f"SKU-{rng.randrange(5000):05d}", "qty": rng.randint(1, 4)}
            for _ in range(rng.randint(1, 4))
        ],
        "city": rng.choice(["Köln", "Hamburg", "Lyon", "Milano", "Zürich"]),
    }
    return base


def build(url: str, home: Path, orders: int, filler: int, seed: int) -> Settings:
    rng = random.Random(seed)
    settings = Settings(home=home, database_url=url)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        conn.commit()
    batches = []
    started = time.perf_counter()
    for system in SYSTEMS:
        first = [record(system, o, 0, rng) for o in range(orders)]
        batches.append(load_records(url, system, first, CURSOR))
        for version in (1, 2):  # incremental syncs: a tenth of the orders changed
            changed = rng.sample(range(orders), max(1, orders // 10))
            changed_records = [record(system, o, version, rng) for o in changed]
            batches.append(load_records(url, system, changed_records, CURSOR))
    say(f"loaded {sum(b.records_new for b in batches)} records in {len(batches)} batches "
        f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    with ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        per_gap = filler // (len(batches) + 1)
        for i, batch in enumerate(batches):
            filler_payload = {"schema": "api", "views": ["x" * 200], "run_id": f"filler-{i}"}
            log.append_events([("publish", filler_payload) for _ in range(per_gap)])
            log.append_event("extraction_batch", extraction_event(batch))
        with log.conn.transaction():
            log.conn.execute("create schema if not exists marts")
            unions = " union all ".join(
                f"select '{system}'::text as source_system, record_key, content_hash, batch_id,"
                f" extracted_at, data ->> 'order' as order_id, data ->> 'status' as code,"
                f" (data ->> '{SYSTEMS[system].streams[0].cursor_field}')::timestamptz"
                f" as event_time, data ->> 'city' as node"
                f" from raw_{system}.{SYSTEMS[system].streams[0].name}"
                for system in SYSTEMS
            )
            log.conn.execute(
                f"""
                create table marts.fct_order_status_events as
                select md5(concat_ws('|', source_system, record_key, content_hash))
                    as event_id, order_id, source_system,
                    'status'::text as source_field, code as source_code,
                    code as canonical_status, node, event_time,
                    'cw-bench'::text as crosswalk_version, record_key as source_record_key,
                    content_hash as source_content_hash, batch_id as source_batch_id,
                    extracted_at as source_extracted_at
                from (select *, 'status'::text as source_field, code as source_code,
                             record_key as source_record_key from ({unions}) u) s
                """
            )
            log.conn.execute("create index on marts.fct_order_status_events (order_id)")
        log.checkpoint()
        _, failed = anchor_latest(log, [witness_anchor(settings, log, signer)])
        assert not failed, failed
        say(f"log: {log.tree_size()} entries, checkpoint and witness cosignature")
    return settings


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"median {statistics.median(values) * 1e3:.1f} ms, "
        f"p95 {ordered[int(len(values) * 0.95)] * 1e3:.1f} ms"
    )


def run(url: str, home: Path, orders: int, filler: int, samples: int, seed: int) -> None:
    settings = build(url, home, orders, filler, seed)
    key = public_key_path(settings.secrets_dir / SIGNING_KEY_FILE).read_text().strip()
    rng = random.Random(seed + 1)
    chosen = [f"SO-{rng.randrange(orders):07d}" for _ in range(samples)]
    trace_s, verify_s, sizes, events = [], [], [], []
    with psycopg.connect(url) as conn:
        for order in chosen:
            started = time.perf_counter()
            bundle = trace_order(conn, order)
            trace_s.append(time.perf_counter() - started)
            text = json.dumps(bundle)
            sizes.append(len(text))
            events.append(len(bundle["events"]))
            started = time.perf_counter()
            verify_bundle(json.loads(text), key)
            verify_s.append(time.perf_counter() - started)
        conn.execute("delete from ledger.batch_trees")  # a home from before trees were kept
        started = time.perf_counter()
        stored = len(repair_trees(conn).stored)
        conn.commit()
        repair_s = time.perf_counter() - started
    both = [t + v for t, v in zip(trace_s, verify_s, strict=True)]

    env = {**os.environ, "ORDERHUB_HOME": str(home), "ORDERHUB_DATABASE_URL": url}
    orderhub = str(Path(sys.executable).with_name("orderhub"))
    out = home / "bundle.json"
    started = time.perf_counter()
    subprocess.run([orderhub, "audit", "trace", chosen[0], "--out", str(out)], env=env,
                   check=True, capture_output=True)  # fmt: skip
    cli_trace = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([orderhub, "audit", "verify", str(out), "--key", key], env=env, check=True,
                   capture_output=True)  # fmt: skip
    cli_verify = time.perf_counter() - started

    print()
    print(
        f"audit trace benchmark: {orders} orders x 4 systems, {filler} filler log entries, "
        f"{samples} orders traced, Python {sys.version.split()[0]}"
    )
    print(f"  events per order  mean {statistics.mean(events):.1f}, max {max(events)}")
    print(f"  trace                {ms(trace_s)} (trees stored by the loader)")
    print(f"  repair-trees         {stored} trees rebuilt and stored in {repair_s:.2f} s")
    print(f"  verify (offline)     {ms(verify_s)}")
    print(f"  trace + verify       {ms(both)} (trees stored)")
    print(f"  bundle size          median {statistics.median(sizes) / 1024:.1f} KiB")
    print(f"  CLI wall time        trace {cli_trace:.2f} s, verify {cli_verify:.2f} s "
          "(process start and imports included)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="orders (records per system)")
    parser.add_argument("--filler", type=int, default=20000, help="other log entries")
    parser.add_argument("--samples", type=int, default=50, help="orders to trace and verify")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="server to create the fresh database on")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    disable_telemetry()
    with (
        scratch_database(args.database_url, prefix="trace_bench", keep=args.keep) as url,
        tempfile.TemporaryDirectory(prefix="trace-bench-home-") as home,
    ):
        run(url, Path(home), args.orders, args.filler, args.samples, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
