"""Extraction batches: their identity, what one did, and the Merkle tree of what it stored.

A batch is one stream of one sync (or of one ingest of an Airbyte server's output). While
it loads, :class:`StoredLeaves` keeps the ``(record_key, content_hash)`` of each row it
actually inserted into its raw table (a version already stored, by this batch or an
earlier one, is not its leaf) — 32 bytes and a key per row, never the record. When the
batch succeeds its :class:`ledger.batches.BatchTree` is built from them, in the ledger's
leaf order, and :func:`store_batch_tree` keeps the tree in ``ledger.batch_trees`` and its
root in ``orderhub_meta.extraction_batches.merkle_root``, in the transaction that marks
the batch succeeded. The ``extraction_batch`` provenance event takes root and size from
the :class:`BatchResult`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from ledger.batches import BatchTree, store_tree


@dataclass(frozen=True)
class BatchResult:
    """What one extraction batch (one stream of one sync) did."""

    batch_id: str
    system: str
    stream: str
    records_read: int
    records_new: int
    cursor_from: str | None
    cursor_to: str | None
    started_at: datetime
    finished_at: datetime
    seconds: float
    #: Hex RFC 9162 root of the tree over the records this batch stored (its leaves).
    merkle_root: str
    #: How many records the batch stored: the size of its tree.
    records_stored: int
    #: Records of this batch put in ``orderhub_meta.quarantine`` instead of the raw table.
    records_quarantined: int = 0


def batch_id(system: str, stream: str, started_at: datetime) -> str:
    """A new extraction batch's id: system, stream, start time and a random suffix."""
    return f"{system}-{stream}-{started_at:%Y%m%dT%H%M%S}Z-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Batch:
    """The identity of a batch being loaded."""

    batch_id: str
    system: str
    stream: str
    started_at: datetime
    cursor_from: str | None

    def next_part(self, cursor_from: str | None) -> Batch:
        """The batch a stream goes on in when this one is closed before the stream ends
        (``StreamLoader.max_batch_rows``): a new id; the same system, stream and start - the
        sync's, so its rows' ``extracted_at`` is every other row's of that sync, and the
        SLA clock counts the sync only once all of its batches succeeded."""
        return Batch(batch_id(self.system, self.stream, self.started_at), self.system,
                     self.stream, self.started_at, cursor_from)  # fmt: skip


class StoredLeaves:
    """The ``(record_key, content_hash)`` of the rows a batch stored: the committed ones and
    those of the open checkpoint (dropped if it rolls back)."""

    def __init__(self) -> None:
        self._committed: list[tuple[str, bytes]] = []
        self._open: list[tuple[str, bytes]] = []

    def add(self, rows: Iterable[tuple[str, str]]) -> int:
        """Rows ``(record_key, hex content_hash)`` inserted in the open checkpoint; how many."""
        before = len(self._open)
        self._open.extend((key, bytes.fromhex(digest)) for key, digest in rows)
        return len(self._open) - before

    @property
    def size(self) -> int:
        """Rows stored so far, committed or in the open checkpoint."""
        return len(self._committed) + len(self._open)

    def commit(self) -> None:
        """The open checkpoint committed: its rows are the batch's."""
        self._committed.extend(self._open)
        self._open.clear()

    def rollback(self) -> None:
        """The open checkpoint rolled back: its rows were never stored."""
        self._open.clear()

    def tree(self) -> BatchTree:
        """The batch's Merkle tree over its committed rows, in leaf order."""
        return BatchTree.of_records(self._committed)


def stream_totals(results: Iterable[BatchResult], stream: str) -> tuple[int, int, float]:
    """Records read, records stored new and seconds of ``stream``'s batches among a sync's
    ``results``: a long stream closes several (``StreamLoader.max_batch_rows``)."""
    mine = [result for result in results if result.stream == stream]
    return (
        sum(r.records_read for r in mine),
        sum(r.records_new for r in mine),
        sum(r.seconds for r in mine),
    )


def store_quarantined(
    conn: psycopg.Connection[Any], batch: Batch, stream: str, rows: list[dict[str, Any]]
) -> int:
    """Insert ``rows`` (record_key, content_hash, cursor_value, reason, payload) into
    ``orderhub_meta.quarantine`` as ``batch``'s, each unless its stream holds one with the
    same content already (read again), in the open transaction; how many were new."""
    if not rows:
        return 0
    cur = conn.execute(
        "insert into orderhub_meta.quarantine (batch_id, system, stream, record_key,"
        " content_hash, cursor_value, reason, payload, quarantined_at)"
        " select %(batch)s, %(system)s, %(stream)s, q.record_key, q.content_hash,"
        " q.cursor_value, q.reason, q.payload::jsonb, %(at)s"
        " from jsonb_to_recordset(%(rows)s::jsonb) as q(record_key text,"
        " content_hash text, cursor_value text, reason text, payload text)"
        " where not exists (select from orderhub_meta.quarantine held"
        " where held.system = %(system)s and held.stream = %(stream)s"
        " and held.content_hash = q.content_hash)"
        " on conflict (batch_id, content_hash) do nothing",
        {
            "batch": batch.batch_id,
            "system": batch.system,
            "stream": stream,
            "at": batch.started_at,
            "rows": orjson.dumps(rows).decode(),
        },
    )
    return max(cur.rowcount, 0)


def store_batch_tree(conn: psycopg.Connection[Any], batch_id: str, tree: BatchTree) -> None:
    """Keep ``tree`` as ``batch_id``'s and its root on the batch row (in the open transaction)."""
    store_tree(conn, batch_id, tree)
    conn.execute(
        "update orderhub_meta.extraction_batches set merkle_root = %s where batch_id = %s",
        (tree.root().hex(), batch_id),
    )


@dataclass(frozen=True)
class BatchCounts:
    """What a batch read, stored new and quarantined, and the cursor it reached."""

    records_read: int
    records_new: int
    records_quarantined: int
    cursor_to: str | None


def close_batch(
    conn: psycopg.Connection[Any],
    batch_id: str,
    status: str,
    counts: BatchCounts,
    tree: BatchTree | None = None,
) -> datetime:
    """Mark ``batch_id`` ``status`` with ``counts`` (and store its ``tree``), in one
    transaction (a savepoint inside an open one); when it was closed."""
    with conn.transaction():
        if tree is not None:
            store_batch_tree(conn, batch_id, tree)
        row = conn.execute(
            "update orderhub_meta.extraction_batches set status = %s,"
            " finished_at = clock_timestamp(), closed_xid = pg_current_xact_id(),"
            " records_read = %s, records_new = %s, records_quarantined = %s, cursor_to = %s"
            " where batch_id = %s and status = 'running' returning finished_at",
            (
                status,
                counts.records_read,
                counts.records_new,
                counts.records_quarantined,
                counts.cursor_to,
                batch_id,
            ),
        ).fetchone()
    if row is None:
        raise LookupError(f"no running extraction batch {batch_id!r} to close")
    finished_at: datetime = row[0]
    return finished_at


def succeed_batch(
    conn: psycopg.Connection[Any],
    batch: Batch,
    counts: BatchCounts,
    tree: BatchTree,
    seconds: float | None = None,
) -> BatchResult:
    """Store ``tree``, mark ``batch`` ``succeeded`` with ``counts`` (one transaction) and
    describe it; ``seconds`` it took (by default from its start to its close, as the
    warehouse's clock says)."""
    finished_at = close_batch(conn, batch.batch_id, "succeeded", counts, tree)
    return BatchResult(
        batch_id=batch.batch_id,
        system=batch.system,
        stream=batch.stream,
        records_read=counts.records_read,
        records_new=counts.records_new,
        cursor_from=batch.cursor_from,
        cursor_to=counts.cursor_to or batch.cursor_from,
        started_at=batch.started_at,
        finished_at=finished_at,
        seconds=(finished_at - batch.started_at).total_seconds() if seconds is None else seconds,
        merkle_root=tree.root().hex(),
        records_stored=tree.size,
        records_quarantined=counts.records_quarantined,
    )
