"""Write a connector's RECORDs into ``raw_<system>.<stream>``, committed together with its STATE.

Per docs/sources.md every row is ``(record_key, content_hash, data, cursor_value, batch_id,
extracted_at)`` with primary key ``(record_key, content_hash)``; ``content_hash`` is the hex
SHA-256 of the record's RFC 8785 canonical JSON (``ledger.canonical``: the ``rfc8785``
package, with an exact ``orjson`` fast path). ``data`` is the record as the Airbyte protocol
delivers it: airbyte-cdk leaves out a record's top-level null members when it writes a RECORD
(an Airbyte server's destination receives the same), so an absent field and a null one are
alike. Rows are staged with COPY into a temporary table and moved with ``insert ... select ...
on conflict do nothing``, so a record seen again (inclusive cursors, lookback windows,
duplicates across pages) is not stored twice.

Schema drift (``connectors.validation``): a record with new fields is stored whole; a record
missing a required field, or holding a value that cannot be cast to its declared type, goes to
``orderhub_meta.quarantine`` with the reason, the batch and the payload instead, and the batch
counts it (``records_quarantined``). The tables are created by ``connectors.schema``.

Rows, quarantined records and state commit in one transaction at each STATE message, so the
state never moves past a record that is not stored somewhere. When the run fails (non-zero
exit, a TRACE error, a malformed line, rows that no STATE ever covered, the warehouse
connection lost) the uncommitted rows are rolled back, the previous state and rows stay as
they were, the batch is marked ``failed`` in ``orderhub_meta.extraction_batches`` and
:class:`ConnectorError` is raised. Batch status is ``running`` while the run lasts, then
``succeeded`` or ``failed``; ``merkle_root`` is left null for provenance to fill.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from connectors.catalog import ConnectorSpec, StreamSpec
from connectors.errors import ConnectorError
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
#: Rows staged per COPY while a checkpoint is open (bounds memory on big pages).
FLUSH_ROWS = 5000
_STAGE = "orderhub_connector_stage"
#: ``application_name`` of the loader's warehouse sessions (``<prefix><system>.<stream>``).
APPLICATION_NAME = "orderhub-loader:"


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
    #: Records of this batch put in ``orderhub_meta.quarantine`` instead of the raw table.
    records_quarantined: int = 0


@dataclass(frozen=True)
class Batch:
    """The identity of a batch being loaded."""

    batch_id: str
    system: str
    stream: str
    started_at: datetime
    cursor_from: str | None


class StreamLoader:
    """Loads one stream of one run on its own connection; one open transaction per checkpoint."""

    def __init__(
        self,
        database_url: str,
        connector: ConnectorSpec,
        stream: StreamSpec,
        batch: Batch,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.connector = connector
        self.stream = stream
        self.batch = batch
        self.progress = progress
        self.database_url = database_url
        self.conn = psycopg.connect(
            database_url, application_name=f"{APPLICATION_NAME}{connector.name}.{stream.name}"
        )
        self.check = RecordCheck.for_stream(connector.manifest(), stream.name)
        self.records_read = 0
        self.records_new = 0
        self.records_quarantined = 0
        self.cursor_to: str | None = None
        self.checkpoints = 0
        self._pending: list[tuple[str, str, str, str | None]] = []
        self._quarantine: list[dict[str, Any]] = []
        self._uncommitted = 0
        self._stage_exists = False
        #: Rows moved into the raw table by the open (uncommitted) checkpoint.
        self._inserted = 0
        self._table = sql.Identifier(connector.raw_schema, stream.name)
        self._where = f"{connector.name}.{stream.name}"

    # -- batch bookkeeping -------------------------------------------------------------
    def open_batch(self) -> None:
        """Record the batch as ``running``."""
        with self.conn.transaction():
            self.conn.execute(
                "insert into orderhub_meta.extraction_batches (batch_id, system, stream,"
                " started_at, cursor_from, status) values (%s, %s, %s, %s, %s, 'running')",
                (
                    self.batch.batch_id,
                    self.batch.system,
                    self.batch.stream,
                    self.batch.started_at,
                    self.batch.cursor_from,
                ),
            )

    def _close_batch(self, status: str, conn: psycopg.Connection[Any] | None = None) -> datetime:
        conn = conn or self.conn
        with conn.transaction():
            row = conn.execute(
                "update orderhub_meta.extraction_batches set status = %s, finished_at = now(),"
                " records_read = %s, records_new = %s, records_quarantined = %s, cursor_to = %s"
                " where batch_id = %s returning finished_at",
                (
                    status,
                    self.records_read,
                    self.records_new,
                    self.records_quarantined,
                    self.cursor_to,
                    self.batch.batch_id,
                ),
            ).fetchone()
        assert row is not None
        return row[0]

    # -- rows ----------------------------------------------------------------------------
    def add(self, record: Mapping[str, Any]) -> bool:
        """Buffer one record (it commits with the next STATE of this stream); False when it
        does not fit the stream's schema and is buffered for the quarantine instead."""
        key = record.get(self.stream.primary_key)
        cursor = record.get(self.stream.cursor_field)
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
        return True

    def _flush(self) -> None:
        """COPY the pending rows to the stage and move them into the raw table, inside the
        open transaction (so the work overlaps the connector's reading; a rollback undoes it)."""
        if not self._pending:
            return
        if not self._stage_exists:
            self.conn.execute(
                f"create temp table if not exists {_STAGE} (record_key text, content_hash text,"
                " data text, cursor_value text) on commit delete rows"
            )
            self._stage_exists = True
        with (
            self.conn.cursor() as cur,
            cur.copy(
                f"copy {_STAGE} (record_key, content_hash, data, cursor_value) from stdin"
            ) as copy,
        ):
            for row in self._pending:
                copy.write_row(row)
        self._pending.clear()
        moved = self.conn.execute(
            sql.SQL(
                "insert into {table} (record_key, content_hash, data, cursor_value, batch_id,"
                " extracted_at) select record_key, content_hash, data::jsonb, cursor_value,"
                " %s, %s from {stage} on conflict (record_key, content_hash) do nothing"
            ).format(table=self._table, stage=sql.Identifier(_STAGE)),
            (self.batch.batch_id, self.batch.started_at),
        )
        self._inserted += max(moved.rowcount, 0)
        self.conn.execute(sql.SQL("truncate {}").format(sql.Identifier(_STAGE)))

    @property
    def uncommitted(self) -> int:
        """Records received since the last committed STATE."""
        return self._uncommitted

    def commit(self, state: Mapping[str, Any], expected: int | None = None) -> None:
        """Move staged rows into the raw table and store ``state``, in one transaction."""
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
        cursor_to = state.get(self.stream.cursor_field)
        self.conn.execute(
            "insert into orderhub_meta.connector_state (system, stream, state, updated_at)"
            " values (%s, %s, %s, now()) on conflict (system, stream)"
            " do update set state = excluded.state, updated_at = excluded.updated_at",
            (self.connector.name, self.stream.name, orjson.dumps(dict(state)).decode()),
        )
        self.conn.execute(
            "update orderhub_meta.extraction_batches set records_read = %s, records_new = %s,"
            " records_quarantined = %s, cursor_to = %s where batch_id = %s",
            (
                self.records_read + self._uncommitted,
                self.records_new + inserted,
                self.records_quarantined + quarantined,
                None if cursor_to is None else str(cursor_to),
                self.batch.batch_id,
            ),
        )
        self.conn.commit()
        self._inserted = 0
        self._quarantine.clear()
        self.records_read += self._uncommitted
        self.records_new += inserted
        self.records_quarantined += quarantined
        self.cursor_to = None if cursor_to is None else str(cursor_to)
        committed, self._uncommitted = self._uncommitted, 0
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

    def _store_quarantine(self) -> int:
        """Insert the buffered quarantined records (in the open transaction); how many."""
        if not self._quarantine:
            return 0
        cur = self.conn.execute(
            "insert into orderhub_meta.quarantine (batch_id, system, stream, record_key,"
            " content_hash, cursor_value, reason, payload, quarantined_at)"
            " select %s, %s, %s, q.record_key, q.content_hash, q.cursor_value, q.reason,"
            " q.payload::jsonb, %s from jsonb_to_recordset(%s::jsonb) as q(record_key text,"
            " content_hash text, cursor_value text, reason text, payload text)"
            " on conflict (batch_id, content_hash) do nothing",
            (
                self.batch.batch_id,
                self.connector.name,
                self.stream.name,
                self.batch.started_at,
                orjson.dumps(self._quarantine).decode(),
            ),
        )
        return max(cur.rowcount, 0)

    def rollback(self) -> None:
        """Drop everything since the last committed STATE."""
        self._pending.clear()
        self._quarantine.clear()
        self._uncommitted = 0
        self._inserted = 0
        self._stage_exists = False
        self.conn.rollback()

    def succeed(self, started: float, now: float) -> BatchResult:
        """Mark the batch ``succeeded`` and describe it."""
        finished_at = self._close_batch("succeeded")
        return BatchResult(
            batch_id=self.batch.batch_id,
            system=self.batch.system,
            stream=self.batch.stream,
            records_read=self.records_read,
            records_new=self.records_new,
            cursor_from=self.batch.cursor_from,
            cursor_to=self.cursor_to or self.batch.cursor_from,
            started_at=self.batch.started_at,
            finished_at=finished_at,
            seconds=now - started,
            records_quarantined=self.records_quarantined,
        )

    def fail(self) -> None:
        """Roll back the open checkpoint and mark the batch ``failed``.

        When the loader's own session is gone (the warehouse dropped it), the batch is marked
        on a fresh one; the server has already rolled the open transaction back.
        """
        try:
            self.rollback()
            self._close_batch("failed")
            return
        except psycopg.Error as error:
            LOGGER.warning("batch %s: loader session unusable (%s)", self.batch.batch_id, error)
        try:
            with psycopg.connect(self.database_url) as conn:
                self._close_batch("failed", conn)
        except psycopg.Error:
            LOGGER.exception("could not mark batch %s failed", self.batch.batch_id)

    def close(self) -> None:
        self.conn.close()


def load_messages(
    system: str,
    messages: Iterable[Mapping[str, Any]],
    loaders: Mapping[str, StreamLoader],
    progress: Callable[[str], None] | None = None,
    every: int = 10_000,
) -> None:
    """Drive ``loaders`` from a connector's messages; raise :class:`ConnectorError` on failure.

    On failure the open checkpoint of every stream is rolled back (the caller marks the
    batches failed). Messages after a TRACE error are drained but not loaded.
    """
    error: str | None = None
    seen = 0
    for message in messages:
        kind = message["type"]
        if kind == "RECORD" and error is None:
            record = message.get("record") or {}
            loader = loaders.get(record.get("stream", ""))
            if loader is None:
                LOGGER.warning(
                    "%s sent a record of unknown stream %r", system, record.get("stream")
                )
                continue
            loader.add(record.get("data") or {})
            seen += 1
            if progress is not None and seen % every == 0:
                progress(f"{system}: {seen} records received")
        elif kind == "STATE" and error is None:
            _checkpoint(system, message.get("state") or {}, loaders)
        elif (
            kind == "TRACE"
            and error is None
            and (message.get("trace") or {}).get("type") == "ERROR"
        ):
            error = str(((message["trace"].get("error") or {}).get("message")) or "error")
            for loader in loaders.values():
                loader.rollback()
    if error is not None:
        raise ConnectorError(system, error)
    for name, loader in loaders.items():
        if loader.uncommitted or not loader.checkpoints:
            raise ConnectorError(
                system,
                f"the connector ended without a STATE covering {loader.uncommitted} records",
                name,
            )


def _checkpoint(system: str, state: Mapping[str, Any], loaders: Mapping[str, StreamLoader]) -> None:
    if state.get("type", "STREAM") != "STREAM":
        raise ConnectorError(system, f"unsupported {state.get('type')} state message")
    stream = state.get("stream") or {}
    name = (stream.get("stream_descriptor") or {}).get("name", "")
    loader = loaders.get(name)
    if loader is None:
        LOGGER.warning("%s sent state for unknown stream %r", system, name)
        return
    blob = stream.get("stream_state")
    if not isinstance(blob, Mapping):
        raise ConnectorError(system, "a STATE message carries no stream_state", name)
    expected = (state.get("sourceStats") or {}).get("recordCount")
    loader.commit(blob, None if expected is None else int(expected))
