"""Write a connector's RECORDs into ``raw_<system>.<stream>``, committed together with its STATE.

Per docs/sources.md every row is ``(record_key, content_hash, data, cursor_value, batch_id,
extracted_at)`` with primary key ``(record_key, content_hash)``; ``content_hash`` is the hex
SHA-256 of the record's RFC 8785 canonical JSON (``ledger.canonical``: the ``rfc8785``
package, with an exact ``orjson`` fast path). ``data`` is the record as the Airbyte protocol
delivers it: airbyte-cdk leaves out a record's top-level null members when it writes a RECORD
(an Airbyte server's destination receives the same), so an absent field and a null one are
alike. Rows go in 5,000 at a time with ``insert ... select ... from unnest(...) on conflict do
nothing``, so a record seen again (inclusive cursors, lookback windows, duplicates across
pages, twice in one insert) is not stored twice.

Schema drift (``connectors.validation``): a record with new fields is stored whole; a record
missing a required field, or holding a value that cannot be cast to its declared type, goes to
``orderhub_meta.quarantine`` with the reason, the batch and the payload instead, and the batch
counts it (``records_quarantined``). A record quarantined before with the same content (read
again) is not quarantined again. The tables are created by ``connectors.schema``.

A keyset-paged read (``StreamSpec.keyset``; the sync asks for ``check_order``) delivers its
records in (cursor, primary key) order; a record sorting before the one received before it
fails the run rather than trust a paging position the server did not keep.

With ``max_batch_rows`` (a sync's, ``connectors.sync.MAX_BATCH_ROWS``) a stream goes on in a
new batch each time its batch has stored that many rows (connectors/README.md, "Batches of
bounded size"). A pushed micro-batch (:mod:`orderhub.live`) goes through the same loader on a
session the receiver lends, with no connector state (``commit(None)``).

Rows, quarantined records and state commit in one transaction at each STATE message (and
rows, without the state, when a batch is closed at ``max_batch_rows``). When
the run fails (non-zero exit, a TRACE error, a malformed line, rows no STATE covered, the
session lost) the open checkpoint rolls back, the batch is marked ``failed`` in
``orderhub_meta.extraction_batches`` and :class:`ConnectorError` is raised (batch status:
``running``, then ``succeeded`` or ``failed``). The insert returns the ``(record_key,
content_hash)`` of the rows it stored (:class:`connectors.batches.StoredLeaves`); a succeeding
batch stores their Merkle tree and root with its status (:mod:`connectors.batches`). A run's
messages reach its loaders through :func:`connectors.messages.load_messages`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from connectors.batches import (
    Batch,
    BatchCounts,
    BatchResult,
    StoredLeaves,
    close_batch,
    store_quarantined,
    succeed_batch,
)
from connectors.catalog import ConnectorSpec, StreamSpec
from connectors.errors import ConnectorError
from connectors.messages import load_messages
from connectors.resume import NewestCursor, utc
from connectors.schema import ensure_schema
from connectors.validation import RecordCheck, reason
from ledger.canonical import canonical_json

__all__ = [
    "APPLICATION_NAME",
    "Batch",
    "BatchResult",
    "StreamLoader",
    "ensure_schema",
    "load_messages",
]

LOGGER = logging.getLogger("connectors.loader")
#: Rows gathered per insert while a checkpoint is open (bounds memory on big pages).
FLUSH_ROWS = 5000
#: ``application_name`` of the loader's warehouse sessions (``<prefix><system>.<stream>``).
APPLICATION_NAME = "orderhub-loader:"


class StreamLoader:
    """Loads one stream of one run on its own connection; one open transaction per checkpoint."""

    def __init__(
        self,
        database_url: str,
        connector: ConnectorSpec,
        stream: StreamSpec,
        batch: Batch,
        progress: Callable[[str], None] | None = None,
        state_extra: Mapping[str, Any] | None = None,
        check_order: bool = False,
        newest: NewestCursor | None = None,
        conn: psycopg.Connection[Any] | None = None,
        max_batch_rows: int | None = None,
        on_closed: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.connector = connector
        #: Rows a batch stores at most before it is closed and the stream goes on in a new
        #: one (:meth:`_close_part`); None: one batch, however long the stream.
        self.max_batch_rows = max_batch_rows
        #: The batches closed along the way, in order (the last is not here); each, and the
        #: last, goes to ``on_closed`` once committed (the sync's caller logs it then).
        self.finished: list[BatchResult] = []
        self.on_closed = on_closed or (lambda _: None)
        self._opened = time.monotonic()
        #: Kept in every state this loader commits, beside the connector's own.
        self.state_extra = dict(state_extra or {})
        #: Whether records must arrive in (cursor, key) order (one keyset-paged read).
        self.check_order = check_order
        #: Tracks the newest cursor read; the committed state's cursor is no later than it.
        self.newest = newest
        self.stream = stream
        self.batch = batch
        self.progress = progress
        self.database_url = database_url
        #: The loader's session: its own, or one the caller lends (the live receiver's).
        self.conn = conn or psycopg.connect(
            database_url, application_name=f"{APPLICATION_NAME}{connector.name}.{stream.name}"
        )
        self._owns_conn = conn is None
        self.check = RecordCheck.for_stream(connector.manifest(), stream.name)
        self.records_read = 0
        self.records_new = 0
        self.records_quarantined = 0
        self.cursor_to: str | None = None
        self.checkpoints = 0
        self._pending: list[tuple[str, str, str, str | None]] = []
        self._quarantine: list[dict[str, Any]] = []
        self._uncommitted = 0
        #: Of the records since the last STATE, those counted into a batch already closed.
        self._closed_since_state = 0
        #: Rows moved into the raw table by the open (uncommitted) checkpoint.
        self._inserted = 0
        #: The (cursor, key) of the last record received (keyset streams arrive in order).
        self._position: tuple[str, str | int] | None = None
        self._leaves = StoredLeaves()
        self._table = sql.Identifier(connector.raw_schema, stream.name)
        self._where = f"{connector.name}.{stream.name}"

    # -- batch bookkeeping -------------------------------------------------------------
    def open_batch(self, batch: Batch | None = None) -> None:
        """Record the batch (``batch``, else this loader's) as ``running``."""
        batch = batch or self.batch
        with self.conn.transaction():
            self.conn.execute(
                "insert into orderhub_meta.extraction_batches (batch_id, system, stream,"
                " started_at, cursor_from, status) values (%s, %s, %s, %s, %s, 'running')",
                (batch.batch_id, batch.system, batch.stream, batch.started_at, batch.cursor_from),
            )

    def _close_batch(self, status: str, conn: psycopg.Connection[Any] | None = None) -> datetime:
        return close_batch(conn or self.conn, self.batch.batch_id, status, self._counts())

    def _counts(self) -> BatchCounts:
        return BatchCounts(
            self.records_read, self.records_new, self.records_quarantined, self.cursor_to
        )

    # -- rows ----------------------------------------------------------------------------
    def add(self, record: Mapping[str, Any]) -> bool:
        """Buffer one record (it commits with the next STATE of this stream, or when its batch
        closes at ``max_batch_rows``); False when it fits no schema (quarantined instead);
        ``StreamSpec.as_read`` adds a derived cursor."""
        key = (record := self.stream.as_read(record)).get(self.stream.primary_key)
        cursor = record.get(self.stream.cursor_field)
        if (
            self.check_order
            and isinstance(cursor, str)
            and isinstance(key, (str, int))
            and not isinstance(key, bool)
        ):
            self._in_order(cursor, key)
        if self.newest is not None:
            self.newest.see(cursor)
        problems = self.check.problems(record)
        if key is None and self.stream.primary_key not in self.check.required:
            problems.append(f"missing primary key {self.stream.primary_key!r}")
        try:
            canonical = canonical_json(record)
        except Exception as error:  # rfc8785 refuses e.g. integers beyond 2^53
            canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
            problems.append(f"no RFC 8785 form: {error}")
        self._uncommitted += 1
        digest, text = hashlib.sha256(canonical).hexdigest(), canonical.decode()
        cursor_text = None if cursor is None else str(cursor)
        if problems:
            self._quarantine.append(
                {
                    "record_key": None if key is None else str(key),
                    "content_hash": digest,
                    "payload": text,
                    "cursor_value": cursor_text,
                    "reason": reason(problems),
                }
            )
            return False
        self._pending.append((str(key), digest, text, cursor_text))
        if len(self._pending) >= FLUSH_ROWS:
            self._flush()
            if self.max_batch_rows is not None and self._leaves.size >= self.max_batch_rows:
                self._close_part()
        return True

    def _in_order(self, cursor: str, key: str | int) -> None:
        """Fail when (cursor, key) sorts before the record received before it (keys of one
        type: text, or whole numbers as Odoo's ids)."""
        before = self._position
        if before is not None and type(before[1]) is type(key) and (cursor, key) < before:
            before_cursor, before_key = before
            raise ConnectorError(
                self.connector.name,
                f"record {key!r} ({cursor}) came after {before_key!r} ({before_cursor}): a"
                " page started before the position the page before it ended at (records"
                " repeated from elsewhere, or the source not keeping its own order); failing"
                " instead of trusting the paging position",
                self.stream.name,
            )
        self._position = (cursor, key)

    def _flush(self) -> None:
        """Insert the gathered rows into the raw table, inside the open transaction: one
        ``insert ... select ... from unnest(...)``, the four columns sent as binary text arrays
        (COPY into a temporary stage, then ``insert ... select`` from it and ``truncate``, cost
        PostgreSQL 39-40 µs a tracker against 33; bench/RESULTS.md)."""
        if not self._pending:
            return
        keys, hashes, data, cursors = (list(column) for column in zip(*self._pending, strict=True))
        self._pending.clear()
        moved = self.conn.cursor(binary=True).execute(
            sql.SQL(
                "insert into {table} (record_key, content_hash, data, cursor_value, batch_id,"
                " extracted_at) select k, h, d::jsonb, c, %b, %b"
                " from unnest(%b::text[], %b::text[], %b::text[], %b::text[]) as u(k, h, d, c)"
                " on conflict (record_key, content_hash) do nothing"
                " returning record_key, content_hash"
            ).format(table=self._table),
            (self.batch.batch_id, self.batch.started_at, keys, hashes, data, cursors),
        )
        self._inserted += self._leaves.add(moved.fetchall())

    @property
    def uncommitted(self) -> int:
        """Records received since the last committed STATE."""
        return self._uncommitted

    def commit(self, state: Mapping[str, Any] | None, expected: int | None = None) -> None:
        """Insert the gathered rows into the raw table and store ``state``, in one transaction
        (``None``: a pushed micro-batch, which leaves the connector's state alone)."""
        if expected is not None and expected != self._uncommitted:
            raise ConnectorError(
                self.connector.name,
                f"STATE says {expected} records since the last checkpoint, the loader got "
                f"{self._uncommitted}: output was lost",
                self.stream.name,
            )
        self._flush()
        inserted = self._inserted
        quarantined = self._store_quarantine()
        cursor_to = self._store_state(state)
        self.conn.execute(
            "update orderhub_meta.extraction_batches set records_read = %s, records_new = %s,"
            " records_quarantined = %s, cursor_to = %s where batch_id = %s",
            (
                self.records_read + self._uncommitted - self._closed_since_state,
                self.records_new + inserted,
                self.records_quarantined + quarantined,
                None if cursor_to is None else str(cursor_to),
                self.batch.batch_id,
            ),
        )
        self.conn.commit()
        self._leaves.commit()
        self._inserted = 0
        self._quarantine.clear()
        self.records_read += self._uncommitted - self._closed_since_state
        self.records_new += inserted
        self.records_quarantined += quarantined
        self.cursor_to = None if cursor_to is None else str(cursor_to)
        committed, self._uncommitted, self._closed_since_state = self._uncommitted, 0, 0
        self.checkpoints += 1
        if quarantined:
            LOGGER.warning(
                "%s: %d records quarantined in batch %s (see orderhub_meta.quarantine)",
                self._where,
                quarantined,
                self.batch.batch_id,
            )
        if self.progress is not None and (committed or self.checkpoints == 1):
            kept = f", {self.records_quarantined} quarantined" if self.records_quarantined else ""
            self.progress(
                f"{self._where}: checkpoint at {self.cursor_to}: {self.records_read} records read,"
                f" {self.records_new} new{kept}"
            )
        if self.max_batch_rows is not None and self._leaves.size >= self.max_batch_rows:
            self._close_part()  # right after a STATE: the batch ends where the state does

    def _store_state(self, state: Mapping[str, Any] | None) -> Any:
        """Store the connector's state (none for a push); the cursor it reached."""
        if state is None:
            return self.cursor_to
        state = {**(self.newest.restate(state) if self.newest else state), **self.state_extra}
        self.conn.execute(
            "insert into orderhub_meta.connector_state (system, stream, state, updated_at)"
            " values (%s, %s, %s, now()) on conflict (system, stream)"
            " do update set state = excluded.state, updated_at = excluded.updated_at",
            (self.connector.name, self.stream.name, orjson.dumps(dict(state)).decode()),
        )
        return state.get(self.stream.cursor_field)

    def _store_quarantine(self) -> int:
        """The buffered quarantined records stored (in the open transaction); how many new."""
        return store_quarantined(self.conn, self.batch, self.stream.name, self._quarantine)

    def rollback(self) -> None:
        """Drop everything since the last committed STATE."""
        self._pending.clear()
        self._quarantine.clear()
        self._uncommitted = 0
        self._closed_since_state = 0
        self._inserted = 0
        self._leaves.rollback()
        self.conn.rollback()

    def _close_part(self) -> None:
        """Close the batch where it stands, between two STATE messages, and go on in a new
        one: its rows so far commit with its tree (the connector's state stays at the last
        STATE, so a run failing later re-reads them and stores nothing twice). What the
        loader holds per batch - a key and a hash per stored row, then the tree - is so
        bounded by ``max_batch_rows``, not by the stream's length."""
        inserted, quarantined = self._inserted, self._store_quarantine()
        counts = BatchCounts(
            self.records_read + self._uncommitted - self._closed_since_state,
            self.records_new + inserted,
            self.records_quarantined + quarantined,
            self._reached(),
        )
        self._leaves.commit()  # the open checkpoint's rows are this batch's: it commits now
        seconds = time.monotonic() - self._opened
        closed = succeed_batch(self.conn, self.batch, counts, self._leaves.tree(), seconds)
        self.conn.commit()
        self.finished.append(closed)
        self.on_closed(closed)
        self._closed_since_state = self._uncommitted
        self._inserted, self.records_read, self.records_new, self.records_quarantined = 0, 0, 0, 0
        self._quarantine.clear()
        self._leaves = StoredLeaves()
        following = self.batch.next_part(closed.cursor_to)
        self.open_batch(following)  # if it fails, the batch left is the closed one
        self.batch, self._opened, self.cursor_to = following, time.monotonic(), closed.cursor_to
        if self.progress is not None:
            self.progress(
                f"{self._where}: batch {closed.batch_id} closed at {closed.records_stored}"
                f" rows (at most {self.max_batch_rows} a batch), going on in {self.batch.batch_id}"
            )

    def _reached(self) -> str | None:
        """The cursor a batch closed between two STATE messages reached: the state's when
        nothing was read since it, else the newest read (in UTC, as a state writes it)."""
        if not self._uncommitted:
            return self.cursor_to
        if self.newest is not None and self.newest.newest is not None:
            return utc(self.newest.newest)
        return self.cursor_to

    def succeed(self, started: float, now: float) -> BatchResult:
        """Store the batch's tree, mark it ``succeeded`` (one transaction) and describe it."""
        seconds = now - (self._opened if self.finished else started)  # a later batch: its own
        done = succeed_batch(self.conn, self.batch, self._counts(), self._leaves.tree(), seconds)
        self.on_closed(done)
        return done

    def fail(self) -> None:
        """Roll back the open checkpoint and mark the batch ``failed``.

        When the loader's own session is gone (the warehouse dropped it), the batch is marked
        on a fresh one; the server has already rolled the open transaction back.
        """
        try:
            self.rollback()
            self._close_batch("failed")
            return
        except LookupError:
            return  # the batch was closed already (the next one could not be opened)
        except psycopg.Error as error:
            LOGGER.warning("batch %s: loader session unusable (%s)", self.batch.batch_id, error)
        try:
            with psycopg.connect(self.database_url) as conn:
                self._close_batch("failed", conn)
        except psycopg.Error:
            LOGGER.exception("could not mark batch %s failed", self.batch.batch_id)

    def close(self) -> None:
        if self._owns_conn:
            self.conn.close()
