"""Sync the file source: read the file of order lines, load it as one extraction batch.

The same loader as the API connectors (:class:`connectors.loader.StreamLoader`): every
record is content-hashed (RFC 8785 JSON, SHA-256) and stored once per distinct version in
``raw_file.order_lines``; a record that does not fit the stream's schema goes to the
quarantine with its reason; rows and state commit together every :data:`COMMIT_ROWS`
records; the batch's Merkle tree is stored as it succeeds, and the orchestration logs its
``extraction_batch`` provenance event like any other.

A file is a snapshot, so each sync reads it whole: the lines stored before are not stored
again (same content hash), changed lines are stored as new versions. A file whose SHA-256
equals the one the last sync stored is not read at all (an empty batch). The stream state
is ``{"ordered_at": <latest line>, "file_sha256": ..., "location": ...}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from connectors.catalog import FILE_CONNECTOR
from connectors.errors import ConnectorError
from connectors.file_source.mapping import SYSTEM, ColumnMapping
from connectors.file_source.reader import fetch, file_format, read_records
from connectors.loader import Batch, BatchResult, StreamLoader
from connectors.sync import batch_id, report_results, system_lock
from orderhub.sources import FileSourceSettings

#: Records per checkpoint (rows and state commit together).
COMMIT_ROWS = 50_000
Progress = Callable[[str], None]


def sync_file(
    source: FileSourceSettings, database_url: str, *, progress: Progress | None = None
) -> list[BatchResult]:
    """Load the file ``source`` names into ``raw_file.order_lines``; one batch result.

    Raises :class:`~connectors.errors.ConnectorError` (a ``FileSourceError`` for the file
    or its mapping) with nothing of the batch kept.
    """
    mapping = ColumnMapping.load(source.mapping)
    kind = file_format(source.location, source.format)
    stream = FILE_CONNECTOR.streams[0]
    with system_lock(SYSTEM, database_url) as state:
        previous = state.get(stream.name, {})
        started_at = datetime.now(UTC)
        batch = Batch(
            batch_id(SYSTEM, stream.name, started_at),
            SYSTEM,
            stream.name,
            started_at,
            previous.get(stream.cursor_field),
        )
        loader = StreamLoader(database_url, FILE_CONNECTOR, stream, batch, progress)
        started = time.monotonic()
        try:
            loader.open_batch()
            with fetch(source.location) as (path, digest):
                if digest == previous.get("file_sha256"):
                    if progress is not None:
                        progress(f"{SYSTEM}.{stream.name}: {source.location} has not changed")
                    loader.commit(dict(previous), 0)
                else:
                    _load(loader, read_records(path, kind, mapping, source.location), previous,
                          {"file_sha256": digest, "location": source.location})  # fmt: skip
            results = [loader.succeed(started, time.monotonic())]
        except psycopg.Error as error:
            loader.fail()
            raise ConnectorError.from_warehouse(SYSTEM, error, "loading", stream.name) from error
        except BaseException:
            loader.fail()
            raise
        finally:
            loader.close()
    report_results(SYSTEM, results, progress)
    return results


def _load(loader: StreamLoader, records, previous: dict, final: dict) -> None:
    """Add every record, committing every :data:`COMMIT_ROWS`; the last commit carries the
    file's hash (a failed read leaves the previous hash, so the next sync reads again)."""
    cursor = previous.get("ordered_at")
    pending = 0
    for record in records:
        loader.add(record)
        stamp = record.get("ordered_at")
        if isinstance(stamp, str) and (cursor is None or stamp > cursor):
            cursor = stamp
        pending += 1
        if pending >= COMMIT_ROWS:
            loader.commit({**previous, "ordered_at": cursor}, pending)
            pending = 0
    loader.commit({**previous, "ordered_at": cursor, **final}, pending)
