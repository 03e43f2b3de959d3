"""``orderhub audit check``: recompute what was logged and report every row changed since.

:func:`check_warehouse` only reads (see the README, "Audit bundle format"):

1. the log: every entry's leaf hash from its body, and the tree they make against every
   stored checkpoint and the latest one's signature;
2. raw rows: each row's ``content_hash`` is SHA-256 of the RFC 8785 JSON of its ``data``;
   each batch's rows (by stored content hash, in leaf order) give the Merkle root and record
   count its ``extraction_batch`` entry logged, and the tree stored for it is that tree; a
   row in no logged batch is reported too (a logged batch without a stored tree is a note:
   ``orderhub audit repair-trees`` stores it);
3. canonical rows (``marts.fct_order_status_events``, derived, so never logged row by row):
   each row's source record must be an intact raw row of a logged, intact batch, and the row
   must equal what the canonical model derives from that record now
   (:mod:`orderhub.audit.derivations`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from connectors.catalog import CONNECTORS, ConnectorSpec
from ledger import store
from ledger.batches import BatchTree, TreeDigest, stored_digests
from ledger.bundle import BATCH_EVENT
from ledger.canonical import canonical_hash
from ledger.checkpoint import open_checkpoint
from ledger.hashing import leaf_hash
from ledger.tree import MerkleTree
from orderhub.audit.derivations import Intact, check_canonical
from orderhub.audit.queries import (
    REPAIR_COMMAND,
    CheckReport,
    Progress,
    batch_hashes_by_batch,
    exists,
    latest_signed,
    quiet,
)


@dataclass(frozen=True)
class _LoggedBatch:
    index: int
    root: str
    records: int
    system: str
    stream: str

    @classmethod
    def of(cls, index: int, payload: dict[str, Any]) -> _LoggedBatch:
        return cls(
            index,
            str(payload.get("merkle_root")),
            int(payload.get("records_stored", 0)),
            str(payload.get("system")),
            str(payload.get("stream")),
        )


def _check_log(
    conn: psycopg.Connection[Any], verifier_key: str, report: CheckReport, progress: Progress
) -> dict[str, _LoggedBatch]:
    """Rehash the log and its checkpoints; return the logged batches by id."""
    latest = latest_signed(conn)
    try:
        open_checkpoint(latest.note, verifier_key)
    except Exception as exc:
        report.add(f"ledger checkpoint {latest.size}", f"its signature does not verify: {exc}")
    # the checkpoints before the entries: every checkpoint read then covers entries that
    # are there when the size is read, so one signed in between is not taken for a change
    with conn.transaction():
        stored_checkpoints = conn.execute(
            "select distinct tree_size, root_hash from ledger.checkpoints order by tree_size"
        ).fetchall()
    tree = MerkleTree()
    batches: dict[str, _LoggedBatch] = {}
    size = store.tree_size(conn)
    for idx, stored, body in store.scan_leaves(conn, size):
        actual = leaf_hash(body)
        if actual != stored:
            report.add(f"ledger.leaves idx {idx}", "its body no longer hashes to its leaf hash")
        tree.append(actual)
        try:
            event = json.loads(body)
        except ValueError:
            report.add(f"ledger.leaves idx {idx}", "its body is not JSON")
            continue
        if event.get("kind") == BATCH_EVENT:
            payload = event.get("payload") or {}
            batches.setdefault(str(payload.get("batch_id")), _LoggedBatch.of(idx, payload))
    progress(f"ledger: {size} entries rehashed")
    for at, root in stored_checkpoints:
        if at > tree.size or tree.root(at) != bytes(root):
            report.add(
                f"ledger checkpoint {at}",
                "the stored entries no longer produce its signed root",
            )
    report.counts["ledger entries"] = size
    report.counts["checkpoints"] = len(stored_checkpoints)
    return batches


@dataclass
class _RawState:
    """What the raw check reads once and fills in as it goes."""

    logged: dict[str, _LoggedBatch]
    meta_roots: dict[str, str | None]
    trees: dict[str, TreeDigest]
    intact: Intact = field(default_factory=dict)
    without_tree: list[str] = field(default_factory=list)
    rows: int = 0


def _rehash_rows(
    conn: psycopg.Connection[Any], spec: ConnectorSpec, stream: str, state: _RawState,
    report: CheckReport,
) -> dict[str, list[tuple[str, str]]]:  # fmt: skip
    """Rehash every row of the table; its intact rows ``(key, hash)`` by batch (every batch
    seen is a key, even one with no intact row)."""
    table = f"{spec.raw_schema}.{stream}"
    by_batch: dict[str, list[tuple[str, str]]] = {}
    with conn.cursor(name=f"audit_{spec.raw_schema}_{stream}") as cur:
        cur.itersize = 5000
        cur.execute(
            sql.SQL("select record_key, content_hash, data::text, batch_id from {}").format(
                sql.Identifier(spec.raw_schema, stream)
            )
        )
        for key, digest, data, batch_id in cur:
            state.rows += 1
            rows = by_batch.setdefault(batch_id, [])
            actual = canonical_hash(json.loads(data))
            if actual != digest:
                report.add(
                    f"{table} record_key={key} content_hash={digest}",
                    f"its data now hashes to {actual}",
                )
            else:
                rows.append((key, digest))
    return by_batch


def _check_batch(
    batch_id: str, hashes: list[bytes], where: str, state: _RawState, report: CheckReport
) -> bool:
    """Whether the batch's rows give the root and count it logged (and its stored tree and
    batch row agree); each disagreement is a finding."""
    entry = state.logged.get(batch_id)
    if entry is None:
        report.add(
            where,
            f"{len(hashes)} rows carry this batch id, but the log has no "
            "extraction_batch entry for it",
        )
        return False
    tree = BatchTree(hashes)
    if tree.root().hex() != entry.root or tree.size != entry.records:
        report.add(
            where,
            f"its {len(hashes)} rows give root {tree.root().hex()}; log entry {entry.index} "
            f"logged {entry.records} records with root {entry.root} "
            "(a row was edited, added or deleted)",
        )
        return False
    if state.meta_roots.get(batch_id) not in (None, entry.root):
        report.add(
            f"orderhub_meta.extraction_batches batch_id={batch_id}",
            f"merkle_root {state.meta_roots[batch_id]} is not the logged {entry.root}",
        )
    stored = state.trees.get(batch_id)
    if stored is None:
        state.without_tree.append(batch_id)
    elif stored != TreeDigest.of(tree):
        report.add(
            f"ledger.batch_trees batch_id={batch_id}",
            "the stored tree is not the tree of the batch's logged records "
            f"(run `{REPAIR_COMMAND} --all`)",
        )
    return True


def _check_table(
    conn: psycopg.Connection[Any], system: str, stream: str, state: _RawState,
    report: CheckReport,
) -> None:  # fmt: skip
    """Check one raw table's rows and the batches they belong to."""
    spec = CONNECTORS[system]
    table = f"{spec.raw_schema}.{stream}"
    by_batch = _rehash_rows(conn, spec, stream, state, report)
    # each batch's leaves in the order the extraction event was computed with
    per_batch = batch_hashes_by_batch(conn, spec.raw_schema, stream)
    for batch_id in sorted(by_batch):
        hashes = per_batch.get(batch_id, [])
        if _check_batch(batch_id, hashes, f"batch {batch_id} ({table})", state, report):
            for key, digest in by_batch[batch_id]:
                state.intact[(system, key, digest)] = batch_id
    for batch_id, entry in state.logged.items():
        if (entry.system, entry.stream) != (system, stream) or batch_id in by_batch:
            continue
        if entry.records:
            report.add(
                f"batch {batch_id} ({table})",
                f"log entry {entry.index} logged {entry.records} records; none is left",
            )


def _check_raw(
    conn: psycopg.Connection[Any],
    logged: dict[str, _LoggedBatch],
    report: CheckReport,
    progress: Progress,
) -> Intact:
    """Check raw rows and batches; return the intact rows: (system, key, hash) -> batch."""
    meta: dict[str, str | None] = {}
    if exists(conn, "orderhub_meta.extraction_batches"):
        meta = dict(
            conn.execute("select batch_id, merkle_root from orderhub_meta.extraction_batches")
        )
    trees = stored_digests(conn) if exists(conn, "ledger.batch_trees") else {}
    state = _RawState(logged, meta, trees)
    for system, spec in CONNECTORS.items():
        for stream in spec.stream_names:
            if exists(conn, f"{spec.raw_schema}.{stream}"):
                _check_table(conn, system, stream, state, report)
                progress(f"{spec.raw_schema}.{stream}: rows rehashed, batch roots recomputed")
    if state.without_tree:
        report.notes.append(
            f"{len(state.without_tree)} logged batches have no stored Merkle tree, which "
            f"`orderhub audit trace` reads: run `{REPAIR_COMMAND}`"
        )
    report.counts["raw rows"] = state.rows
    report.counts["logged batches"] = len(logged)
    return state.intact


def check_warehouse(
    conn: psycopg.Connection[Any], verifier_key: str, *, progress: Progress = quiet
) -> CheckReport:
    """Recompute the hashes of the log, the raw rows and the canonical rows; report changes."""
    report = CheckReport()
    logged = _check_log(conn, verifier_key, report, progress)
    intact = _check_raw(conn, logged, report, progress)
    check_canonical(conn, intact, report, progress)
    return report
