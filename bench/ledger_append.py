"""Benchmark: append N provenance events to a fresh ledger, checkpoint, prove, verify.

    uv run python bench/ledger_append.py                  # 100000 events, embedded PostgreSQL
    uv run python bench/ledger_append.py -n 20000 --database-url postgresql://...

With ``--database-url`` a fresh database is created on that server (and dropped
afterwards unless ``--keep``); without it an embedded PostgreSQL is started under
a temporary home and stopped at the end. Prints events/s of the append,
checkpoint time, proof sizes, and time per proof served and verified.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from ledger import (
    Checkpoint,
    EventKinds,
    MerkleTree,
    ProvenanceLog,
    Signer,
    open_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from orderhub.progress import say
from orderhub.settings import disable_telemetry
from orderhub.warehouse import scratch_database

ORIGIN = "orderhub.bench/provenance"
#: The one kind this benchmark appends, with the fields of its payload.
KINDS = EventKinds(
    {"extraction_batch": ("system", "stream", "batch_id", "cursor", "record_count", "records_root")}
)


def payload(i: int, rng: random.Random) -> dict[str, Any]:
    """A provenance event shaped like an extraction batch."""
    return {
        "system": rng.choice(["erp", "crm", "wms", "tms"]),
        "stream": rng.choice(["orders", "fulfillment_orders", "pickings", "trackers"]),
        "batch_id": f"batch-{i:08d}",
        "cursor": {
            "from": f"2025-01-01T00:{i % 60:02d}:00Z",
            "to": f"2025-01-01T01:{i % 60:02d}:00Z",
        },
        "record_count": rng.randint(1, 5000),
        "records_root": rng.randbytes(32).hex(),
    }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _append(log: ProvenanceLog, n: int, batch: int, rng: random.Random) -> float:
    """Append ``n`` events in calls of ``batch``; the seconds it took."""
    say(f"appending {n} events in batches of {batch}")
    started = time.perf_counter()
    done = 0
    while done < n:
        size = min(batch, n - done)
        log.append_events([("extraction_batch", payload(done + i, rng)) for i in range(size)])
        done += size
        if done % max(batch, n // 10) == 0 or done == n:
            rate = done / (time.perf_counter() - started)
            say(f"  {done}/{n} events ({rate:,.0f}/s)")
    return time.perf_counter() - started


def _inclusion_proofs(
    log: ProvenanceLog, opened: Checkpoint, rows: list[Any], indexes: list[int]
) -> tuple[list[float], list[float], list[int]]:
    """Seconds to serve and to verify the inclusion proof of each of ``indexes``, and sizes."""
    serve, verify, sizes = [], [], []
    for index in indexes:
        event_hash = bytes(rows[index][0])
        proof, t = timed(lambda i=index: log.inclusion_proof(i, opened.size))
        serve.append(t)
        sizes.append(len(proof))
        _, t = timed(
            lambda i=index, p=proof, h=event_hash: verify_inclusion(
                h, i, opened.size, p, opened.root_hash
            )
        )
        verify.append(t)
    return serve, verify, sizes


def _consistency_proofs(
    log: ProvenanceLog, opened: Checkpoint, memory: MerkleTree, olds: list[int]
) -> tuple[list[float], list[float], list[int]]:
    """Seconds to serve and to verify a consistency proof from each of ``olds``, and sizes."""
    serve, verify, sizes = [], [], []
    for old in olds:
        proof, t = timed(lambda o=old: log.consistency_proof(o, opened.size))
        serve.append(t)
        sizes.append(len(proof))
        old_root = memory.root(old)
        _, t = timed(
            lambda o=old, p=proof, r=old_root: verify_consistency(
                o, opened.size, r, opened.root_hash, p
            )
        )
        verify.append(t)
    return serve, verify, sizes


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1e3:.3f} ms, p95 " + (
        f"{sorted(values)[int(len(values) * 0.95)] * 1e3:.3f} ms"
    )


def run(url: str, n: int, batch: int, samples: int) -> None:
    rng = random.Random(42)
    signer = Signer.generate(ORIGIN)
    with ProvenanceLog(url, ORIGIN, signer, kinds=KINDS) as log:
        append_s = _append(log, n, batch, rng)
        signed, checkpoint_s = timed(log.checkpoint)
        opened, open_s = timed(lambda: open_checkpoint(signed.note, signer.verifier_key()))
        say(f"checkpoint at size {signed.size} signed in {checkpoint_s * 1000:.1f} ms")

        with log.conn.transaction():
            rows = log.conn.execute("select leaf_hash from ledger.leaves order by idx").fetchall()
        memory, build_s = timed(lambda: MerkleTree(bytes(r[0]) for r in rows))
        assert memory.root() == opened.root_hash, "store root differs from the in-memory tree"

        indexes = [rng.randrange(n) for _ in range(samples)]
        serve, verify, sizes = _inclusion_proofs(log, opened, rows, indexes)
        olds = [rng.randint(1, n - 1) for _ in range(samples)]
        cserve, cverify, csizes = _consistency_proofs(log, opened, memory, olds)

        with log.conn.transaction():
            (db_bytes,) = log.conn.execute(
                "select pg_total_relation_size('ledger.leaves') + "
                "pg_total_relation_size('ledger.nodes')"
            ).fetchone() or (0,)

    print()
    print(
        f"ledger append benchmark: {n} events, batches of {batch}, Python {sys.version.split()[0]}"
    )
    print(f"  append            {append_s:.2f} s  = {n / append_s:,.0f} events/s")
    print(
        f"  checkpoint        {checkpoint_s * 1e3:.1f} ms "
        "(lock head, root from stored nodes, sign, store)"
    )
    print(f"  open checkpoint   {open_s * 1e3:.2f} ms (parse + Ed25519 verify)")
    print(
        f"  inclusion proof   {max(sizes)} hashes max ({max(sizes) * 32} bytes), "
        f"mean {statistics.mean(sizes):.1f}; served {ms(serve)}; verified {ms(verify)}"
    )
    print(
        f"  consistency proof {max(csizes)} hashes max ({max(csizes) * 32} bytes), "
        f"mean {statistics.mean(csizes):.1f}; served {ms(cserve)}; verified {ms(cverify)}"
    )
    print(
        f"  in-memory tree    rebuilt from {n} leaf hashes in {build_s:.2f} s; "
        "root matches the store"
    )
    print(f"  storage           {db_bytes / 1e6:.1f} MB (leaves + nodes, with indexes)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=100_000, help="events to append")
    parser.add_argument("--batch", type=int, default=10_000, help="events per append call")
    parser.add_argument("--samples", type=int, default=1000, help="proofs to serve and verify")
    parser.add_argument("--database-url", help="server to create the fresh database on")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    if args.events < 2:
        parser.error("--events must be at least 2")
    disable_telemetry()
    with scratch_database(args.database_url, prefix="ledger_bench", keep=args.keep) as url:
        run(url, args.events, args.batch, args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
