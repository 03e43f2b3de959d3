"""Benchmark: ``orderhub audit trace`` and ``verify`` of one order on a realistic warehouse.

    uv run python bench/ledger_trace.py                       # 5,000 orders, embedded PostgreSQL
    uv run python bench/ledger_trace.py --orders 20000 --filler 100000

Builds, in a fresh database: the sandbox's generated scenario for ``--orders`` orders (ERP
sales orders, CRM fulfilment orders, WMS pickings, TMS trackers; realistic records) loaded
by the real loader in two deliveries per system, their ``extraction_batch`` events among
``--filler`` other events, the dbt project built for real and its ``dbt_build`` event logged
with the crosswalk, the derivation spec and every order's claim (timed: the claims tree is
the build's new cost), a signed checkpoint and a witness cosignature. Then traces random
orders (:func:`orderhub.audit.trace_order`: records, batches, the build, the crosswalk rows,
the claim) and verifies each bundle offline with the log and witness keys
(:func:`ledger.bundle.verify_bundle`, which re-derives every event from the records and the
status from the events), times ``orderhub audit repair-trees`` rebuilding every batch tree,
and prints the times, the bundle size, and the wall time of the two CLI commands.

*Warm* is the same connection tracing order after order; *cold* is the first trace after
the server restarted (its shared buffers empty; the operating system's page cache is left
as it is), one restart per sample (``--cold``). The traces are timed twice: with the
stored trees as the loader writes them (a proof from a leaf-index search and O(log n)
slices of the stored levels) and with the trees as schema 3 stored them (no leaf index:
each batch's packed levels read whole and scanned), the figure before the leaf index.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import psycopg

from connectors.schema import ensure_schema
from connectors.sync import load_records
from ledger.bundle import verify_bundle
from ledger.keys import load_or_create_signer, public_key_path
from ledger.log import ProvenanceLog
from ledger.receipts import anchor_latest
from orchestration import derived_state
from orchestration.anchoring import WITNESS_KEY_FILE, witness_anchor
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES, build_and_log
from orchestration.provenance import extraction_event
from orderhub.audit import repair_trees, trace_order
from orderhub.progress import say
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.settings import SIGNING_KEY_FILE, Settings, disable_telemetry
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import DATABASE, EmbeddedPostgres, scratch_database
from sandbox.scenario import Scenario
from sandbox.store import CURSOR_FIELD

#: Where the generated scenario stands: the start of this hour (no event after extraction).
AS_OF = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def deliveries(scenario: Scenario) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each system's records in two deliveries: those changed before the median change
    time, then the rest (as a sync every so often would bring them)."""
    out = []
    for half in (0, 1):
        for system in API_SYSTEMS:
            records = sorted(scenario.records(system), key=lambda r: r[CURSOR_FIELD[system]])
            middle = len(records) // 2
            out.append((system, records[:middle] if half == 0 else records[middle:]))
    return out


def _timed_derived_state(timings: dict[str, float]) -> None:
    """Time each build's claims tree (the derived state it logs)."""
    original = derived_state.derived_state

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        state = original(*args, **kwargs)
        if state.tree is not None:
            timings["claims"] = time.perf_counter() - started
        return state

    derived_state.derived_state = timed  # type: ignore[assignment]


def build(url: str, home: Path, orders: int, filler: int, seed: int) -> dict[str, float]:
    settings = Settings(home=home, database_url=url)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    scenario = Scenario(seed=seed, orders=orders, as_of=AS_OF)
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    timings: dict[str, float] = {}
    with ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        started = time.perf_counter()
        batches = deliveries(scenario)
        per_gap = filler // (len(batches) + 1)
        for i, (system, records) in enumerate(batches):
            filler_payload = {"schema": "api", "views": ["x" * 200], "run_id": f"filler-{i}"}
            log.append_events([("publish", filler_payload) for _ in range(per_gap)])
            batch = load_records(url, system, records, AS_OF.isoformat())
            log.append_event("extraction_batch", extraction_event(batch))
        say(f"loaded and logged {len(batches)} batches ({time.perf_counter() - started:.1f} s)")
        _timed_derived_state(timings)
        started = time.perf_counter()
        build_and_log(url, log, home / "dbt", *FLOW_BUILD_EXCLUDES)
        timings["build"] = time.perf_counter() - started
        log.append_event("publish", {"schema": "api", "views": ["api_orders"], "run_id": "bench"})
        log.checkpoint()
        _, failed = anchor_latest(log, [witness_anchor(settings, log, signer)])
        assert not failed, failed
        say(f"log: {log.tree_size()} entries, checkpoint and witness cosignature")
    return timings


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"median {statistics.median(values) * 1e3:.1f} ms, "
        f"p95 {ordered[int(len(values) * 0.95)] * 1e3:.1f} ms"
    )


def _keys(home: Path) -> tuple[str, str]:
    secrets = home / "secrets"
    log_key = public_key_path(secrets / SIGNING_KEY_FILE).read_text().strip()
    return log_key, public_key_path(secrets / WITNESS_KEY_FILE).read_text().strip()


def _cli(home: Path, url: str, order: str, keys: tuple[str, str]) -> tuple[float, float]:
    env = {**os.environ, "ORDERHUB_HOME": str(home), "ORDERHUB_DATABASE_URL": url}
    orderhub = str(Path(sys.executable).with_name("orderhub"))
    out = home / "bundle.json"
    started = time.perf_counter()
    subprocess.run([orderhub, "audit", "trace", order, "--out", str(out)], env=env,
                   check=True, capture_output=True)  # fmt: skip
    trace = time.perf_counter() - started
    started = time.perf_counter()
    verify = [orderhub, "audit", "verify", str(out), "--key", keys[0], "--witness-key", keys[1]]
    subprocess.run(verify, env=env, check=True, capture_output=True)
    return trace, time.perf_counter() - started


class CountingCursor(psycopg.Cursor[Any]):
    """A cursor that counts the statements it sends (round trips of a trace)."""

    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingCursor.statements += 1
        return super().execute(*args, **kwargs)


#: Python CPU seconds of each trace (this process only: the server's work is not in it).
TRACE_CPU: list[float] = []


def _trace_times(
    url: str, orders: list[str], keys: tuple[str, str]
) -> tuple[list[float], list[float], list[int], list[int]]:
    """Trace and verify each order on one connection: times, bundle sizes, event counts."""
    trace_s, verify_s, sizes, events = [], [], [], []
    with psycopg.connect(url, cursor_factory=CountingCursor) as conn:
        for order in orders:
            started, cpu = time.perf_counter(), time.process_time()
            bundle = trace_order(conn, order)
            trace_s.append(time.perf_counter() - started)
            TRACE_CPU.append(time.process_time() - cpu)
            text = json.dumps(bundle)
            sizes.append(len(text))
            events.append(len(bundle["events"]))
            started = time.perf_counter()
            verify_bundle(json.loads(text), keys[0], witness_keys=[keys[1]])
            verify_s.append(time.perf_counter() - started)
    return trace_s, verify_s, sizes, events


def _cold(server: EmbeddedPostgres | None, orders: list[str], keys: tuple[str, str]) -> str:
    """Trace + verify of each order as the first query after a server restart."""
    if server is None:
        return "(not measured: --database-url names a server this bench does not restart)"
    both = []
    for order in orders:
        server.stop()
        server.start()
        trace_s, verify_s, _, _ = _trace_times(server.url(DATABASE), [order], keys)
        both.append(trace_s[0] + verify_s[0])
    return ms(both) + f" ({len(orders)} restarts)"


def run(url: str, home: Path, args: argparse.Namespace, server: EmbeddedPostgres | None) -> None:
    timings = build(url, home, args.orders, args.filler, args.seed)
    keys = _keys(home)
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("select order_id from marts.fct_order_current_status")]
        batch_sizes = [r[0] for r in conn.execute("select tree_size from ledger.batch_trees")]
    chosen = random.Random(args.seed + 1).sample(sorted(ids), min(args.samples, len(ids)))
    _trace_times(url, chosen[:5], keys)  # warm-up
    TRACE_CPU.clear()
    CountingCursor.statements = 0
    trace_s, verify_s, sizes, events = _trace_times(url, chosen, keys)
    cpu, statements = list(TRACE_CPU), CountingCursor.statements / len(chosen)
    both = [t + v for t, v in zip(trace_s, verify_s, strict=True)]
    cold = _cold(server, chosen[: args.cold], keys)
    url = server.url(DATABASE) if server is not None else url
    with psycopg.connect(url) as conn:
        conn.execute("update ledger.batch_trees set leaf_index = null")  # as schema 3 kept them
    old_trace, old_verify, _, _ = _trace_times(url, chosen[:10], keys)
    old = [t + v for t, v in zip(old_trace, old_verify, strict=True)]
    with psycopg.connect(url) as conn:
        # a home from before batch trees were kept (the build's claims tree stays)
        conn.execute("delete from ledger.batch_trees where batch_id not like 'claims:%'")
        started = time.perf_counter()
        stored = len(repair_trees(conn).stored)
        conn.commit()
        repair_s = time.perf_counter() - started
    cli_trace, cli_verify = _cli(home, url, chosen[0], keys)

    print()
    print(
        f"audit trace benchmark: {args.orders} orders (sandbox scenario, 4 systems), "
        f"{args.filler} filler log entries, {len(chosen)} orders traced, largest stored tree "
        f"{max(batch_sizes)} leaves, Python {sys.version.split()[0]}"
    )
    print(f"  dbt build            {timings['build']:.1f} s, of which the claims tree "
          f"{timings.get('claims', 0):.2f} s")  # fmt: skip
    print(f"  events per order     mean {statistics.mean(events):.1f}, max {max(events)}")
    print(f"  trace (warm)         {ms(trace_s)} (leaf index and slices of stored levels)")
    print(f"  trace, client CPU    median {statistics.median(cpu) * 1e3:.1f} ms, "
          f"{statements:.0f} SQL statements per trace")  # fmt: skip
    print(f"  verify (offline)     {ms(verify_s)} (records, build, events and status re-derived)")
    print(f"  trace + verify warm  {ms(both)}")
    print(f"  trace + verify cold  {cold}")
    print(f"  as schema 3 (warm)   {ms(old)} (trees read whole, no leaf index)")
    print(f"  repair-trees         {stored} trees rebuilt and stored in {repair_s:.2f} s")
    print(f"  bundle size          median {statistics.median(sizes) / 1024:.1f} KiB")
    print(f"  CLI wall time        trace {cli_trace:.2f} s, verify {cli_verify:.2f} s "
          "(process start and imports included)")  # fmt: skip
    print(f"  load                 {Path('/proc/loadavg').read_text().strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="orders of the scenario")
    parser.add_argument("--filler", type=int, default=20000, help="other log entries")
    parser.add_argument("--samples", type=int, default=50, help="orders to trace and verify")
    parser.add_argument("--cold", type=int, default=5, help="cold samples (server restarts)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="server to create the fresh database on")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    disable_telemetry()
    with tempfile.TemporaryDirectory(prefix="trace-bench-home-") as home:
        if args.database_url:
            with scratch_database(args.database_url, prefix="trace_bench", keep=args.keep) as url:
                run(url, Path(home), args, None)
            return 0
        server = EmbeddedPostgres(Settings(home=Path(home) / "server"))
        try:
            url = server.start()
            run(url, Path(home), args, server)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
