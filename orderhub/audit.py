"""The auditor's operations on the warehouse: trace an order, check for changes, prove growth.

- :func:`trace_order` builds the audit bundle of one order (``ledger.bundle``
  format): every canonical event of the order in ``marts.fct_order_status_events``,
  the raw record each came from, that record's inclusion proof in its extraction
  batch's Merkle root, the batch's ``extraction_batch`` log entry with its
  inclusion proof in the latest signed checkpoint, and that checkpoint's anchor
  receipts. Proofs come from stored nodes: the log's ``ledger.nodes`` and the batch
  trees in ``ledger.batch_trees`` (a missing or stale one is rebuilt from the batch's
  stored content hashes, and must give the logged root); every record proof is
  checked against the logged root before it goes into the bundle.
- :func:`check_warehouse` recomputes what was logged and reports every row
  that changed since (see the README, "Audit bundle format" and ``orderhub audit check``):

  1. the log: every entry's leaf hash from its body, and the tree they make
     against every stored checkpoint and the latest one's signature;
  2. raw rows: each row's ``content_hash`` is SHA-256 of the RFC 8785 JSON of its
     ``data``; each batch's rows (by stored content hash) give the Merkle root and
     record count its ``extraction_batch`` entry logged; a row in no logged batch
     is reported too;
  3. canonical rows (``marts.fct_order_status_events``, derived, so never logged
     row by row): each row's source record (system, key, content hash, batch) must
     be an intact raw row of a logged, intact batch, and the row must equal what
     the canonical model derives from that record now (``event_id`` and every
     column, recomputed through ``intermediate.int_order_events__mapped``).
- :func:`consistency` proves that a newer stored checkpoint extends an older one.

This module reads the warehouse; the one thing it writes is ``ledger.batch_trees``, the
cache of batch trees whose roots it has just checked against the log.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from connectors.catalog import SYSTEMS
from ledger import store
from ledger.batches import (
    BatchTree,
    RecordProof,
    StoredTree,
    batch_hashes,
    batch_hashes_by_batch,
    load_tree,
    store_tree,
    verify_record,
)
from ledger.bundle import BUNDLE_FORMAT, consistency_document
from ledger.canonical import canonical_hash, canonical_json
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import ProofError
from ledger.hashing import leaf_hash
from ledger.log import SignedCheckpoint, latest_checkpoint
from ledger.proofs import verify_consistency
from ledger.receipts import receipts_for
from ledger.tree import MerkleTree

CANONICAL_TABLE = "marts.fct_order_status_events"
DERIVATION_VIEW = "intermediate.int_order_events__mapped"
#: fct_order_status_events columns named differently in the view they derive from.
RENAMED_FROM_VIEW: dict[str, str] = {
    "source_content_hash": "content_hash",
    "source_batch_id": "batch_id",
    "source_extracted_at": "extracted_at",
}


def event_id_sql(alias: str = "") -> str:
    """The event id of fct_order_status_events as its model computes it (macro iso_utc)."""
    a = f"{alias}." if alias else ""
    return (
        f"md5(concat_ws('|', {a}source_system, {a}source_record_key, {a}source_field, "
        f"coalesce({a}source_code, ''), "
        f"to_char({a}event_time at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))"
    )


Progress = Callable[[str], None]


class AuditError(RuntimeError):
    """The warehouse cannot answer the audit question; the message says why."""


def _quiet(_: str) -> None:
    return None


def _exists(conn: psycopg.Connection[Any], relation: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


def raw_tables(system: str) -> list[tuple[str, str]]:
    """``(schema, table)`` of every raw table of ``system``."""
    spec = SYSTEMS.get(system)
    if spec is None:
        raise AuditError(f"unknown source system {system!r} (known: {', '.join(SYSTEMS)})")
    return [(spec.raw_schema, stream) for stream in spec.stream_names]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _latest(conn: psycopg.Connection[Any]) -> SignedCheckpoint:
    if not _exists(conn, "ledger.checkpoints"):
        raise AuditError("the warehouse has no provenance ledger yet (run the flow once)")
    latest = latest_checkpoint(conn)
    if latest is None:
        raise AuditError("the ledger has no signed checkpoint yet (run the flow's publish step)")
    return latest


# -- trace ------------------------------------------------------------------------------


def _source_record(
    conn: psycopg.Connection[Any], row: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """The raw row an event came from: ``(schema, table, record)``."""
    system = str(row["source_system"])
    for schema, table in raw_tables(system):
        found = conn.execute(
            sql.SQL(
                "select record_key, content_hash, data::text, batch_id, extracted_at"
                " from {} where record_key = %s and content_hash = %s"
            ).format(sql.Identifier(schema, table)),
            (row["source_record_key"], row["source_content_hash"]),
        ).fetchone()
        if found is not None:
            key, digest, data, batch_id, extracted_at = found
            return (
                schema,
                table,
                {
                    "table": f"{schema}.{table}",
                    "system": system,
                    "record_key": key,
                    "content_hash": digest,
                    "batch_id": batch_id,
                    "extracted_at": extracted_at.isoformat(),
                    "data": json.loads(data),
                },
            )
    raise AuditError(
        f"event {row['event_id']}: its source record {system} {row['source_record_key']} "
        f"version {row['source_content_hash']} is not in the raw tables any more "
        "(run `orderhub audit check`)"
    )


@dataclass
class _BatchProofs:
    entry: dict[str, Any]
    tree: StoredTree
    root: bytes


def cache_tree(conn: psycopg.Connection[Any], batch_id: str, tree: BatchTree) -> None:
    """Keep a batch tree whose root was checked against the log (skipped if read-only)."""
    # a read-only role can still audit; it just rebuilds the tree next time
    with contextlib.suppress(psycopg.Error):
        store_tree(conn, batch_id, tree)


def _checked_tree(
    conn: psycopg.Connection[Any],
    batch_id: str,
    hashes: list[bytes],
    logged_root: str,
    *,
    logged_size: int | None = None,
    cached_root: bytes | None = None,
) -> tuple[BatchTree, bool]:
    """Build a batch's tree and tell whether it gives the logged root (and record count).

    A tree that does is cached, unless ``cached_root`` says the same tree is stored already.
    """
    tree = BatchTree(hashes)
    matches = tree.root().hex() == logged_root and logged_size in (None, tree.size)
    if matches and tree.root() != cached_root:
        cache_tree(conn, batch_id, tree)
    return tree, matches


def _batch(
    conn: psycopg.Connection[Any],
    schema: str,
    table: str,
    batch_id: str,
    checkpoint: Checkpoint,
    *,
    rebuild: bool = False,
) -> _BatchProofs:
    index = store.batch_entry(conn, batch_id)
    if index is None:
        raise AuditError(f"batch {batch_id} has no extraction_batch entry in the log")
    if index >= checkpoint.size:
        raise AuditError(
            f"batch {batch_id} is log entry {index}, after the latest checkpoint "
            f"(size {checkpoint.size}): publish (sign a checkpoint) before tracing it"
        )
    event, _ = store.leaf(conn, index)
    proof = store.inclusion_proof(conn, index, checkpoint.size)
    logged = str(event["payload"].get("merkle_root"))
    tree = None if rebuild else load_tree(conn, batch_id)
    if tree is None or tree.root().hex() != logged:
        hashes = batch_hashes(conn, schema, table, batch_id)
        built, matches = _checked_tree(conn, batch_id, hashes, logged)
        if not matches:
            raise AuditError(
                f"batch {batch_id}: its {len(hashes)} stored records give root "
                f"{built.root().hex()}, the log (entry {index}) has {logged}: rows changed "
                "since they were logged (run `orderhub audit check`)"
            )
        tree = built.stored()
    return _BatchProofs(
        entry={
            "batch_id": batch_id,
            "table": f"{schema}.{table}",
            "log_index": index,
            "log_entry": canonical_json(event).decode("utf-8"),
            "log_proof": [p.hex() for p in proof],
        },
        tree=tree,
        root=bytes.fromhex(logged),
    )


def _record_proof(proofs: _BatchProofs, digest: bytes) -> RecordProof | None:
    """The record's proof in its batch, checked against the logged root (None if it fails)."""
    try:
        where = proofs.tree.prove(digest)
        verify_record(digest, where, proofs.root)
    except (ValueError, ProofError):
        return None
    return where


def trace_order(
    conn: psycopg.Connection[Any], order_id: str, *, progress: Progress = _quiet
) -> dict[str, Any]:
    """The audit bundle of ``order_id`` (see :mod:`ledger.bundle`)."""
    latest = _latest(conn)
    checkpoint = latest.checkpoint
    if not _exists(conn, CANONICAL_TABLE):
        raise AuditError(f"{CANONICAL_TABLE} does not exist yet (run the flow once)")
    rows = [
        r[0]
        for r in conn.execute(
            sql.SQL(
                "select to_jsonb(f) from {} f where order_id = %s order by event_time, event_id"
            ).format(sql.SQL(CANONICAL_TABLE)),
            (order_id,),
        )
    ]
    if not rows:
        raise AuditError(f"order {order_id!r} has no canonical event in {CANONICAL_TABLE}")
    progress(f"order {order_id}: {len(rows)} canonical events")

    records: list[dict[str, Any]] = []
    record_at: dict[tuple[str, str, str], int] = {}
    batches: dict[str, _BatchProofs] = {}
    events = []
    for row in rows:
        key = (row["source_system"], row["source_record_key"], row["source_content_hash"])
        if key not in record_at:
            schema, table, record = _source_record(conn, row)
            batch_id = record["batch_id"]
            if batch_id not in batches:
                batches[batch_id] = _batch(conn, schema, table, batch_id, checkpoint)
            digest = bytes.fromhex(record["content_hash"])
            where = _record_proof(batches[batch_id], digest)
            if where is None:  # a stale stored tree: rebuild it from the records once
                batches[batch_id] = _batch(conn, schema, table, batch_id, checkpoint, rebuild=True)
                where = _record_proof(batches[batch_id], digest)
            if where is None:
                raise AuditError(f"record {record['record_key']} is not in batch {batch_id}")
            record["batch_proof"] = {
                "leaf_index": where.index,
                "tree_size": where.size,
                "path": [p.hex() for p in where.path],
            }
            record_at[key] = len(records)
            records.append(record)
        events.append({"row": row, "record": record_at[key]})
    receipts = receipts_for(conn, checkpoint.size, checkpoint.root_hash)
    progress(
        f"order {order_id}: {len(records)} source records in {len(batches)} batches, "
        f"checkpoint {checkpoint.size}, {len(receipts)} anchor receipts"
    )
    return {
        "format": BUNDLE_FORMAT,
        "subject": {"order_id": order_id},
        "generated_at": _now(),
        "log": {
            "origin": checkpoint.origin,
            "tree_size": checkpoint.size,
            "root_hash": checkpoint.root_hash.hex(),
            "checkpoint": latest.note,
        },
        "anchors": [receipt.to_json() for receipt, _ in receipts],
        "batches": [b.entry for b in batches.values()],
        "records": records,
        "events": events,
    }


def prepare_batch_trees(conn: psycopg.Connection[Any], *, progress: Progress = _quiet) -> int:
    """Store the tree of every logged batch that has none yet; return how many were stored.

    Each tree is built from its batch's raw rows and stored only if it gives the root its
    ``extraction_batch`` entry logged; a batch that does not is left to ``audit check``.
    """
    if not _exists(conn, "orderhub_meta.extraction_batches"):
        return 0
    pending = conn.execute(
        "select b.batch_id, b.system, b.stream from orderhub_meta.extraction_batches b"
        " where b.status = 'succeeded' and not exists"
        " (select 1 from ledger.batch_trees t where t.batch_id = b.batch_id)"
        " order by b.started_at"
    ).fetchall()
    stored = 0
    for batch_id, system, stream in pending:
        index = store.batch_entry(conn, batch_id)
        if index is None or system not in SYSTEMS:
            continue
        event, _ = store.leaf(conn, index)
        hashes = batch_hashes(conn, SYSTEMS[system].raw_schema, stream, batch_id)
        _, matches = _checked_tree(conn, batch_id, hashes, str(event["payload"].get("merkle_root")))
        stored += matches
    progress(f"batch trees: {stored} stored ({len(pending)} batches had none)")
    return stored


# -- check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing that changed since it was logged."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class CheckReport:
    """What :func:`check_warehouse` looked at and what it found."""

    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def add(self, where: str, what: str) -> None:
        self.findings.append(Finding(where, what))


@dataclass(frozen=True)
class _LoggedBatch:
    index: int
    root: str
    records: int
    system: str
    stream: str


def _check_log(
    conn: psycopg.Connection[Any], verifier_key: str, report: CheckReport, progress: Progress
) -> dict[str, _LoggedBatch]:
    latest = _latest(conn)
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
        if event.get("kind") == "extraction_batch":
            payload = event.get("payload") or {}
            batch_id = str(payload.get("batch_id"))
            batches.setdefault(
                batch_id,
                _LoggedBatch(
                    idx,
                    str(payload.get("merkle_root")),
                    int(payload.get("records_stored", 0)),
                    str(payload.get("system")),
                    str(payload.get("stream")),
                ),
            )
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


def _check_raw(
    conn: psycopg.Connection[Any],
    logged: dict[str, _LoggedBatch],
    report: CheckReport,
    progress: Progress,
) -> dict[tuple[str, str, str], str]:
    """Check raw rows and batches; return the intact rows: (system, key, hash) -> batch."""
    intact: dict[tuple[str, str, str], str] = {}
    meta: dict[str, str | None] = {}
    if _exists(conn, "orderhub_meta.extraction_batches"):
        meta = dict(
            conn.execute("select batch_id, merkle_root from orderhub_meta.extraction_batches")
        )
    cached: dict[str, bytes] = {}
    if _exists(conn, "ledger.batch_trees"):
        with conn.transaction():
            cached = {
                batch_id: bytes(root)
                for batch_id, root in conn.execute(
                    "select batch_id, root_hash from ledger.batch_trees"
                )
            }
    rows_total = 0
    for system, spec in SYSTEMS.items():
        for stream in spec.stream_names:
            table = f"{spec.raw_schema}.{stream}"
            if not _exists(conn, table):
                continue
            batch_ids: set[str] = set()
            ok_rows: dict[str, list[tuple[str, str]]] = {}
            with conn.cursor(name=f"audit_{spec.raw_schema}_{stream}") as cur:
                cur.itersize = 5000
                cur.execute(
                    sql.SQL("select record_key, content_hash, data::text, batch_id from {}").format(
                        sql.Identifier(spec.raw_schema, stream)
                    )
                )
                for key, digest, data, batch_id in cur:
                    rows_total += 1
                    batch_ids.add(batch_id)
                    actual = canonical_hash(json.loads(data))
                    if actual != digest:
                        report.add(
                            f"{table} record_key={key} content_hash={digest}",
                            f"its data now hashes to {actual}",
                        )
                    else:
                        ok_rows.setdefault(batch_id, []).append((key, digest))
            # each batch's leaves in the order the extraction event was computed with
            per_batch = batch_hashes_by_batch(conn, spec.raw_schema, stream)
            for batch_id in sorted(batch_ids):
                hashes = per_batch.get(batch_id, [])
                entry = logged.get(batch_id)
                where = f"batch {batch_id} ({table})"
                if entry is None:
                    report.add(
                        where,
                        f"{len(hashes)} rows carry this batch id, but the log has no "
                        "extraction_batch entry for it",
                    )
                    continue
                tree, matches = _checked_tree(
                    conn,
                    batch_id,
                    hashes,
                    entry.root,
                    logged_size=entry.records,
                    cached_root=cached.get(batch_id),
                )
                if not matches:
                    report.add(
                        where,
                        f"its {len(hashes)} rows give root {tree.root().hex()}; "
                        f"log entry {entry.index} "
                        f"logged {entry.records} records with root {entry.root} "
                        "(a row was edited, added or deleted)",
                    )
                    continue
                if batch_id in meta and meta[batch_id] not in (None, entry.root):
                    report.add(
                        f"orderhub_meta.extraction_batches batch_id={batch_id}",
                        f"merkle_root {meta[batch_id]} is not the logged {entry.root}",
                    )
                for key, digest in ok_rows.get(batch_id, []):
                    intact[(system, key, digest)] = batch_id
            for batch_id, entry in logged.items():
                if (entry.system, entry.stream) != (system, stream) or batch_id in batch_ids:
                    continue
                if entry.records:
                    report.add(
                        f"batch {batch_id} ({table})",
                        f"log entry {entry.index} logged {entry.records} records; none is left",
                    )
            progress(f"{table}: rows rehashed, batch roots recomputed")
    report.counts["raw rows"] = rows_total
    report.counts["logged batches"] = len(logged)
    return intact


def _columns(conn: psycopg.Connection[Any], relation: str) -> list[str]:
    """The column names of ``relation``, in order."""
    return [
        str(row[0])
        for row in conn.execute(
            "select attname from pg_attribute where attrelid = %s::regclass"
            " and attnum > 0 and not attisdropped order by attnum",
            (relation,),
        )
    ]


def _check_canonical(
    conn: psycopg.Connection[Any],
    intact: dict[tuple[str, str, str], str],
    report: CheckReport,
    progress: Progress,
) -> None:
    if not _exists(conn, CANONICAL_TABLE):
        report.notes.append(f"{CANONICAL_TABLE} does not exist: no canonical row checked")
        return
    count = 0
    for event_id, system, key, digest, batch_id in conn.execute(
        sql.SQL(
            "select event_id, source_system, source_record_key, source_content_hash,"
            " source_batch_id from {} order by event_id"
        ).format(sql.SQL(CANONICAL_TABLE))
    ):
        count += 1
        logged_batch = intact.get((system, key, digest))
        where = f"{CANONICAL_TABLE} event_id={event_id}"
        if logged_batch is None:
            report.add(
                where,
                f"its source record {system} {key} version {digest} is not an intact raw row "
                "of a logged batch",
            )
        elif logged_batch != batch_id:
            report.add(
                where, f"source_batch_id {batch_id} is not its record's batch {logged_batch}"
            )
    report.counts["canonical rows"] = count
    if not _exists(conn, DERIVATION_VIEW):
        report.notes.append(f"{DERIVATION_VIEW} does not exist: derivations not recomputed")
        return
    fct_columns = _columns(conn, CANONICAL_TABLE)
    view_columns = set(_columns(conn, DERIVATION_VIEW))
    pairs = [
        (column, RENAMED_FROM_VIEW.get(column, column))
        for column in fct_columns
        if RENAMED_FROM_VIEW.get(column, column) in view_columns
    ]
    differs = sql.SQL(", ").join(
        sql.SQL("case when f.{} is distinct from r.{} then {} end").format(
            sql.Identifier(fct), sql.Identifier(view), sql.Literal(fct)
        )
        for fct, view in pairs
    )
    query = sql.SQL(
        """
        with recomputed as (
            select {event_id} as event_id, m.* from {view} m
        )
        select f.event_id, {event_id_f} <> f.event_id as bad_id, r.event_id is null as gone,
               array_remove(array[{differs}], null) as columns
        from {table} f
        left join recomputed r
            on r.event_id = f.event_id and r.content_hash = f.source_content_hash
        where r.event_id is null or {event_id_f} <> f.event_id
            or cardinality(array_remove(array[{differs}], null)) > 0
        order by f.event_id
        """
    ).format(
        event_id=sql.SQL(event_id_sql("m")),
        event_id_f=sql.SQL(event_id_sql("f")),
        view=sql.SQL(DERIVATION_VIEW),
        table=sql.SQL(CANONICAL_TABLE),
        differs=differs,
    )
    for event_id, bad_id, gone, columns in conn.execute(query):
        where = f"{CANONICAL_TABLE} event_id={event_id}"
        if bad_id:
            report.add(where, "its event_id is not the hash of its own identifying columns")
        elif gone:
            report.add(where, "its source record no longer derives this event")
        else:
            report.add(
                where,
                f"{', '.join(columns)} differ(s) from what its source record derives to",
            )
    report.counts["derived columns compared"] = len(pairs)
    progress(f"{CANONICAL_TABLE}: {count} rows traced to their records and re-derived")


def check_warehouse(
    conn: psycopg.Connection[Any], verifier_key: str, *, progress: Progress = _quiet
) -> CheckReport:
    """Recompute the hashes of the log, the raw rows and the canonical rows; report changes."""
    report = CheckReport()
    logged = _check_log(conn, verifier_key, report, progress)
    intact = _check_raw(conn, logged, report, progress)
    _check_canonical(conn, intact, report, progress)
    return report


# -- consistency ------------------------------------------------------------------------


def stored_checkpoint(conn: psycopg.Connection[Any], size: int) -> str:
    """The signed note of the stored checkpoint of ``size`` (the newest of that size)."""
    with conn.transaction():
        row = conn.execute(
            "select note from ledger.checkpoints where tree_size = %s order by id desc limit 1",
            (size,),
        ).fetchone()
        if row is None:
            sizes = [
                r[0]
                for r in conn.execute(
                    "select distinct tree_size from ledger.checkpoints order by 1 desc limit 8"
                )
            ]
            raise AuditError(
                f"no stored checkpoint of size {size} (latest sizes: "
                f"{', '.join(map(str, sizes)) or 'none'})"
            )
    return str(row[0])


def consistency(
    conn: psycopg.Connection[Any], old_note: str, new_note: str, verifier_key: str
) -> dict[str, Any]:
    """Prove ``new_note``'s checkpoint extends ``old_note``'s; return the proof document."""
    old = open_checkpoint(old_note, verifier_key)
    new = open_checkpoint(new_note, verifier_key, origin=old.origin)
    if old.size > new.size:
        raise AuditError(
            f"checkpoint {old.size} is newer than checkpoint {new.size}: give the older first"
        )
    proof = store.consistency_proof(conn, old.size, new.size)
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    return consistency_document(old_note, new_note, proof)


def read_checkpoint_argument(conn: psycopg.Connection[Any] | None, value: str) -> str:
    """A checkpoint given as a tree size (stored), a note file, or a bundle file."""
    if value.isdigit():
        if conn is None:
            raise AuditError("a checkpoint given by size needs the warehouse")
        return stored_checkpoint(conn, int(value))
    path = Path(value)
    if not path.exists():
        raise AuditError(f"{value} is neither a tree size nor a file")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        try:
            return str(document["log"]["checkpoint"])
        except (KeyError, TypeError):
            raise AuditError(f"{value} is JSON but not an audit bundle") from None
    return text


def load_key(value: str) -> str:
    """A verifier key given as its text or as a file holding it."""
    path = Path(value)
    if "+" not in value or path.exists():
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AuditError(f"cannot read the key file {value}: {exc}") from exc
    return value.strip()
