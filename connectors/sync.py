"""Sync source systems into the warehouse: run the connector, load its records, keep its state.

:func:`sync_system` reads the stored state of a system's streams, runs its declarative
connector (``connectors.runner``) from there, and loads what it emits into
``raw_<system>.<stream>`` (``connectors.loader``), one extraction batch per stream - and a
stream that stores more than :data:`MAX_BATCH_ROWS` rows goes on in a new batch each time it
has, so the loader's memory is bounded by the batch, not by the load. It returns one
:class:`BatchResult` per batch, or raises :class:`ConnectorError` naming the system, the
stream and the cause, with the previous rows and state intact - but for the batches it
closed before the failure, whose rows are stored (and which ``on_closed`` was told of).
:func:`load_records` loads records extracted elsewhere (test fixtures, benchmarks) through
the same loader.

A sync that died without marking its batches (the process killed, the machine gone) left them
``running``; the next sync of the system, which holds the system's lock, marks them
``failed``. Their rows, if any, were committed with a STATE (or with a batch the run closed
before, ``succeeded``) and stay; nothing else of theirs was kept, so the next run resumes
from the last committed state.

Where a sync starts reading is :mod:`connectors.resume`: the lookback is measured from where
the sync before it started, so a write landing behind the paging position while a sync runs
is read by the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from connectors import runner
from connectors.batches import batch_id
from connectors.catalog import SYSTEMS, ConnectorSpec, StreamSpec, get_connector
from connectors.errors import ConnectorError
from connectors.loader import Batch, BatchResult, StreamLoader, ensure_schema, load_messages
from connectors.resume import RESUME_KEY, NewestCursor, connector_state, resume_from

__all__ = [
    "MAX_BATCH_ROWS",
    "BatchResult",
    "ConnectorError",
    "Progress",
    "SyncError",
    "batch_id",
    "load_batch",
    "load_records",
    "read_state",
    "report_results",
    "sync_all",
    "sync_system",
    "system_lock",
]

LOGGER = logging.getLogger("connectors.sync")
Progress = Callable[[str], None]
#: Rows one extraction batch of a sync stores at most: the loader keeps a key and a hash per
#: stored row until its batch closes, and then its Merkle tree (about 600 bytes a row at the
#: peak, bench/RESULTS.md), so this bounds the syncing process's memory, whatever the size of
#: a first load; a proof of a record reads a tree of at most this size.
MAX_BATCH_ROWS = 50_000


class SyncError(ConnectorError):
    """Some systems of :func:`sync_all` failed; the others' results are in ``results``."""

    def __init__(self, errors: Mapping[str, ConnectorError], results: list[BatchResult]) -> None:
        self.errors = dict(errors)
        self.results = results
        causes = "; ".join(str(error) for error in self.errors.values())
        super().__init__(",".join(self.errors), causes)


def read_state(conn: psycopg.Connection[Any], system: str) -> dict[str, dict[str, Any]]:
    """The stored per-stream state of ``system`` (empty before its first sync)."""
    rows = conn.execute(
        "select stream, state from orderhub_meta.connector_state where system = %s", (system,)
    ).fetchall()
    return {stream: dict(state) for stream, state in rows}


@contextmanager
def system_lock(system: str, database_url: str) -> Iterator[dict[str, dict[str, Any]]]:
    """Hold ``system``'s sync lock (a PostgreSQL advisory lock) and yield its stored state.

    A second holder fails at once naming the first. Batches a dead sync left ``running`` are
    marked ``failed`` first (their committed rows stay).
    """
    streams = ",".join(get_connector(system).stream_names)
    with psycopg.connect(database_url, autocommit=True) as guard:
        ensure_schema(guard)
        lock = guard.execute(
            "select pg_try_advisory_lock(hashtext(%s))", (f"orderhub.connectors.sync.{system}",)
        ).fetchone()
        if not lock or not lock[0]:
            raise ConnectorError(system, "another sync of this system is running", streams)
        abandoned = guard.execute(
            "update orderhub_meta.extraction_batches set status = 'failed',"
            " finished_at = coalesce(finished_at, now()),"
            " closed_xid = coalesce(closed_xid, pg_current_xact_id())"
            " where system = %s and status = 'running' returning batch_id",
            (system,),
        ).fetchall()
        for (dead,) in abandoned:
            LOGGER.warning("%s: batch %s was left running by a sync that died", system, dead)
        yield read_state(guard, system)


def load_records(
    database_url: str, system: str, records: Iterable[Mapping[str, Any]], cursor: str
) -> BatchResult:
    """Load ``records`` of ``system``'s first stream, already extracted, as one extraction
    batch whose stored state ends at ``cursor`` (for fixtures and benchmarks; a sync reads
    its records from the connector)."""
    connector = get_connector(system)
    stream = connector.streams[0]
    cursor = stream.as_read({stream.source_cursor: cursor}).get(stream.cursor_field, cursor)
    return load_batch(database_url, connector, stream, records, {stream.cursor_field: cursor})


def load_batch(
    database_url: str,
    connector: ConnectorSpec,
    stream: StreamSpec,
    records: Iterable[Mapping[str, Any]],
    state: Mapping[str, Any] | None,
    progress: Progress | None = None,
) -> BatchResult:
    """``records`` of ``stream``, already read, stored as one new extraction batch that
    stores ``state`` with them (``None``: the connector's state stays where it is)."""
    started_at = datetime.now(UTC)
    batch = Batch(
        batch_id(connector.name, stream.name, started_at),
        connector.name,
        stream.name,
        started_at,
        None,
    )
    loader = StreamLoader(database_url, connector, stream, batch, progress)
    started = time.monotonic()
    try:
        loader.open_batch()
        for record in records:
            loader.add(record)
        loader.commit(state)
        return loader.succeed(started, time.monotonic())
    except BaseException:
        loader.fail()
        raise
    finally:
        loader.close()


def sync_system(
    system: str,
    config: Mapping[str, Any],
    database_url: str,
    *,
    progress: Progress | None = None,
    timeout: float | None = None,
    max_batch_rows: int | None = MAX_BATCH_ROWS,
    on_closed: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """Extract ``system`` incrementally into its raw tables; one result per batch: one per
    stream, and a stream that stores more than ``max_batch_rows`` rows goes on in a new
    batch each time it has (:data:`MAX_BATCH_ROWS`; None: one batch however long). Each
    batch that succeeds is handed to ``on_closed`` as soon as it is committed (the
    orchestrator logs it in the ledger then: its rows are stored whatever happens to the
    rest of the run); it is among the results too.

    ``config`` is the connector's config (see :func:`connectors.config.source_config`);
    ``timeout`` bounds the connector process in seconds. Two syncs of one system never run
    at once (a PostgreSQL advisory lock): the second fails at once naming the first.
    """
    streams = ",".join(get_connector(system).stream_names)
    with system_lock(system, database_url) as state:
        try:
            results = _extract(
                system, config, database_url, state, progress, timeout, max_batch_rows, on_closed
            )
        except ConnectorError as error:
            LOGGER.error("%s", error)
            if error.stream:
                raise
            raise error.for_stream(streams) from error
    report_results(system, results, progress)
    return results


def report_results(system: str, results: list[BatchResult], progress: Progress | None) -> None:
    """One progress line per batch: records read, new, quarantined, time and rate."""
    if progress is not None:
        for result in results:
            rate = result.records_read / result.seconds if result.seconds else 0.0
            kept = (
                f", {result.records_quarantined} quarantined" if result.records_quarantined else ""
            )
            progress(
                f"{system}.{result.stream}: {result.records_read} records read,"
                f" {result.records_new} new{kept}, in {result.seconds:.1f} s"
                f" ({rate:.0f} records/s)"
            )


def _extract(
    system: str,
    config: Mapping[str, Any],
    database_url: str,
    state: Mapping[str, Mapping[str, Any]],
    progress: Progress | None,
    timeout: float | None,
    max_batch_rows: int | None,
    on_closed: Callable[[BatchResult], None] | None,
) -> list[BatchResult]:
    """One connector run from ``state``, a batch per stream (and one more each
    ``max_batch_rows`` stored rows), each handed to ``on_closed`` as it commits; the open
    batches failed on any error."""
    connector = get_connector(system)
    started_at = datetime.now(UTC)
    started = time.monotonic()
    start_date = str(config.get("start_date") or "")
    loaders: dict[str, StreamLoader] = {}
    read_from: dict[str, dict[str, Any]] = {}
    try:
        for stream in connector.streams:
            stored = state.get(stream.name, {})
            resume = connector_state(stream, stored)
            if resume is not None:
                read_from[stream.name] = resume
            batch = Batch(
                batch_id=batch_id(system, stream.name, started_at),
                system=system,
                stream=stream.name,
                started_at=started_at,
                cursor_from=(resume or {}).get(stream.cursor_field) or start_date or None,
            )
            loaders[stream.name] = StreamLoader(
                database_url,
                connector,
                stream,
                batch,
                progress,
                state_extra={RESUME_KEY: resume_from(stream, stored, start_date, started_at)},
                check_order=stream.keyset,
                newest=NewestCursor(stream),
                max_batch_rows=max_batch_rows,
                on_closed=on_closed,
            )
            loaders[stream.name].open_batch()
            if progress is not None:
                progress(f"{system}.{stream.name}: reading from {batch.cursor_from}")
        try:
            with runner.read(
                system, config, state=read_from, timeout=timeout, progress=progress
            ) as messages:
                load_messages(system, messages, loaders, progress)
            return [
                result
                for loader in loaders.values()
                for result in (*loader.finished, loader.succeed(started, time.monotonic()))
            ]
        except psycopg.Error as error:
            raise ConnectorError.from_warehouse(system, error, "loading") from error
    except BaseException:
        for loader in loaders.values():
            loader.fail()
        raise
    finally:
        for loader in loaders.values():
            loader.close()


def sync_all(
    configs: Mapping[str, Mapping[str, Any]],
    database_url: str,
    progress: Progress | None = None,
    *,
    timeout: float | None = None,
) -> list[BatchResult]:
    """Sync every configured system (in registry order); a failure does not stop the others.

    Raises :class:`SyncError` (a ``ConnectorError``) after trying them all if any failed.
    """
    unknown = sorted(set(configs) - set(SYSTEMS))
    if unknown:
        raise KeyError(f"unknown source systems {unknown}; known: {', '.join(SYSTEMS)}")
    results: list[BatchResult] = []
    errors: dict[str, ConnectorError] = {}
    for system in SYSTEMS:
        if system not in configs:
            continue
        try:
            results += sync_system(
                system, configs[system], database_url, progress=progress, timeout=timeout
            )
        except ConnectorError as error:
            errors[system] = error
            if progress is not None:
                progress(str(error))
    if errors:
        raise SyncError(errors, results)
    return results
