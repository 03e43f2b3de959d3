"""``orderhub audit trace``: the audit bundle of one order, read from the warehouse.

:func:`trace_order` reads every canonical event of the order in
``marts.fct_order_status_events``, the raw record each came from, that record's proof in
its extraction batch's stored Merkle tree (``ledger.batch_trees``, written by the loader as
the batch succeeded), the batch's ``extraction_batch`` log entry with its inclusion proof in
the latest signed checkpoint, and that checkpoint's anchor receipts; the document itself is
assembled by :class:`ledger.bundle.BundleBuilder`. Nothing is rebuilt here: a batch without
a stored tree (logged before trees were kept) is an error naming ``orderhub audit
repair-trees``. Before a record goes into the bundle its data is rehashed and its proof is
checked against the logged root, so a bundle that is written verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from ledger import store
from ledger.batches import RecordProof, StoredTree, load_tree, verify_record
from ledger.bundle import BundleBuilder
from ledger.canonical import canonical_hash
from ledger.checkpoint import Checkpoint
from ledger.errors import ProofError
from ledger.receipts import receipts_for
from orderhub.audit.queries import (
    CANONICAL_TABLE,
    REPAIR_COMMAND,
    AuditError,
    Progress,
    exists,
    latest_signed,
    logged_batch,
    quiet,
    raw_tables,
)


@dataclass(frozen=True)
class _Record:
    """A raw row an event came from."""

    schema: str
    table: str
    system: str
    record_key: str
    content_hash: str
    batch_id: str
    extracted_at: str
    data: Any


@dataclass(frozen=True)
class _ProvedBatch:
    """A logged batch, its log proof and the stored tree its records are proved from."""

    index: int
    entry: dict[str, Any]
    log_proof: list[bytes]
    tree: StoredTree
    root: bytes


def _source_record(conn: psycopg.Connection[Any], row: dict[str, Any]) -> _Record:
    """The raw row the canonical event ``row`` came from."""
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
            return _Record(
                schema, table, system, key, digest, batch_id, extracted_at.isoformat(),
                json.loads(data),
            )  # fmt: skip
    raise AuditError(
        f"event {row['event_id']}: its source record {system} {row['source_record_key']} "
        f"version {row['source_content_hash']} is not in the raw tables any more "
        "(run `orderhub audit check`)"
    )


def _proved_batch(
    conn: psycopg.Connection[Any], batch_id: str, checkpoint: Checkpoint
) -> _ProvedBatch:
    """The batch's log entry, its proof in ``checkpoint`` and its stored tree."""
    logged = logged_batch(conn, batch_id)
    if logged is None:
        raise AuditError(f"batch {batch_id} has no extraction_batch entry in the log")
    if logged.index >= checkpoint.size:
        raise AuditError(
            f"batch {batch_id} is log entry {logged.index}, after the latest checkpoint "
            f"(size {checkpoint.size}): publish (sign a checkpoint) before tracing it"
        )
    tree = load_tree(conn, batch_id)
    if tree is None:
        raise AuditError(
            f"batch {batch_id} has no stored Merkle tree (it was logged before the loader "
            f"kept them): run `{REPAIR_COMMAND}`, then trace again"
        )
    if tree.root().hex() != logged.root_hex or tree.size != logged.size:
        raise AuditError(
            f"the stored tree of batch {batch_id} ({tree.size} records, root "
            f"{tree.root().hex()}) is not the tree log entry {logged.index} logged "
            f"({logged.size} records, root {logged.root_hex}): run `{REPAIR_COMMAND}`"
        )
    proof = store.inclusion_proof(conn, logged.index, checkpoint.size)
    return _ProvedBatch(logged.index, logged.event, proof, tree, bytes.fromhex(logged.root_hex))


def _record_proof(batch: _ProvedBatch, record: _Record) -> RecordProof:
    """The record's proof in its batch, checked against the logged root."""
    if canonical_hash(record.data) != record.content_hash:
        raise AuditError(
            f"record {record.record_key} of {record.schema}.{record.table}: its data no longer "
            f"hashes to its content hash {record.content_hash} (run `orderhub audit check`)"
        )
    digest = bytes.fromhex(record.content_hash)
    try:
        where = batch.tree.prove(digest)
        verify_record(digest, where, batch.root)
    except (ValueError, ProofError):
        raise AuditError(
            f"record {record.record_key} ({record.content_hash}) has no valid proof in the "
            f"stored tree of batch {record.batch_id}: the stored tree or the raw row changed "
            f"(`orderhub audit check` tells which; `{REPAIR_COMMAND} --all` rebuilds the trees)"
        ) from None
    return where


def _canonical_rows(conn: psycopg.Connection[Any], order_id: str) -> list[dict[str, Any]]:
    if not exists(conn, CANONICAL_TABLE):
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
    return rows


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def trace_order(
    conn: psycopg.Connection[Any], order_id: str, *, progress: Progress = quiet
) -> dict[str, Any]:
    """The audit bundle of ``order_id`` (see :mod:`ledger.bundle`)."""
    latest = latest_signed(conn)
    checkpoint = latest.checkpoint
    rows = _canonical_rows(conn, order_id)
    progress(f"order {order_id}: {len(rows)} canonical events")
    bundle = BundleBuilder({"order_id": order_id})
    batches: dict[str, _ProvedBatch] = {}
    for row in rows:
        key = (row["source_system"], row["source_record_key"], row["source_content_hash"])
        position = bundle.record_position(*key)
        if position is None:
            record = _source_record(conn, row)
            batch = batches.get(record.batch_id)
            if batch is None:
                batch = batches[record.batch_id] = _proved_batch(conn, record.batch_id, checkpoint)
                table = f"{record.schema}.{record.table}"
                bundle.add_batch(record.batch_id, table, batch.index, batch.entry, batch.log_proof)
            position = bundle.add_record(
                table=f"{record.schema}.{record.table}",
                system=record.system,
                record_key=record.record_key,
                content_hash=record.content_hash,
                batch_id=record.batch_id,
                extracted_at=record.extracted_at,
                data=record.data,
                proof=_record_proof(batch, record),
            )
        bundle.add_event(row, position)
    receipts = [receipt for receipt, _ in receipts_for(conn, checkpoint.size, checkpoint.root_hash)]
    progress(
        f"order {order_id}: {len(bundle.records)} source records in {len(batches)} batches, "
        f"checkpoint {checkpoint.size}, {len(receipts)} anchor receipts"
    )
    return bundle.build(checkpoint, latest.note, receipts, _now())
