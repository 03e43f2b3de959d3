"""Store pushed events durably, in micro-batches, before their senders get a 2xx.

The receivers put each verified push on a bounded queue (:meth:`Intake.submit` refuses when
it is full: the receiver answers 429 with Retry-After). One writer thread takes what has
queued - up to :data:`MAX_BATCH` events, waiting at most :data:`WINDOW` seconds after the
first - and stores it per system as one extraction batch through the connectors' loader
(:class:`connectors.loader.StreamLoader`): content hash, ``on conflict do nothing`` against
what the poll stored, the quarantine with its reason, the batch's Merkle tree. In the same
transaction it records each new event id in ``orderhub_meta.push_events`` (a redelivery is
recognised there and stores nothing) and queues the changed records for the hot path in
``orderhub_meta.live_pending``. A second transaction stores the batch's Merkle tree and
status and appends its ``extraction_batch`` event to the provenance log (on the writer's
own session, so the event commits with the status it describes); then the writer answers
the waiting receivers.

Two commits a micro-batch, one WAL flush: the first commits asynchronously
(``synchronous_commit = off`` for that transaction alone) and the second synchronously,
which flushes all WAL written before it - the first's rows included - before any receiver
answers 2xx (docs/live.md, "The intake's commits"). A crash (or a failure of the second
transaction) between the two answers no sender, but the first's rows may already be durable
(the WAL writer flushes within milliseconds): the batch's records and event ids are then
stored without its tree, status and ``extraction_batch`` event, and the senders' retries
are recognised as redeliveries. Each time the writer opens a session (at start-up, and
after a failure closed the one before) it closes such batches: tree, status and event
written then (:mod:`orderhub.live.intake_repair`).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from connectors.catalog import CONNECTORS
from connectors.loader import Batch, StreamLoader
from connectors.schema import ensure_schema
from ledger.bundle.format import BATCH_EVENT
from ledger.log import ProvenanceLog
from orchestration.provenance import extraction_event
from orderhub.live.intake_repair import close_open_batches, take_intake_lock
from orderhub.live.receivers import Pushed
from orderhub.live_tables import ensure_live_schema

LOGGER = logging.getLogger("orderhub.live.intake")
#: Events one micro-batch holds at most, and how long it waits for more after the first.
MAX_BATCH = 500
WINDOW = 0.005
#: Events waiting to be stored at most; beyond it the receivers answer 429.
QUEUE_SIZE = 5000


@dataclass
class Item:
    """One verified push waiting to be stored; ``done`` resolves once it is (or failed)."""

    system: str
    pushed: Pushed
    done: Future[bool] = field(default_factory=Future)


class PushLoader(StreamLoader):
    """The loader of one pushed micro-batch: also quarantines payloads that are no record."""

    def quarantine(self, payload: Mapping[str, Any], why: str) -> None:
        """Buffer ``payload`` for the quarantine with ``why`` (commits with the batch)."""
        text = orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS).decode()
        self._uncommitted += 1
        self._quarantine.append(
            {
                "record_key": None,
                "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                "payload": text,
                "cursor_value": None,
                "reason": why,
            }
        )


class Intake:
    """The bounded queue of pushes and the writer storing them."""

    def __init__(
        self,
        database_url: str,
        log: ProvenanceLog | None,
        on_stored: Callable[[], None] = lambda: None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.database_url = database_url
        self.log = log
        self.on_stored = on_stored
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=queue_size)
        self.counters = {
            "stored": 0,
            "duplicates": 0,
            "quarantined": 0,
            "batches": 0,
            "batches_closed": 0,
        }
        self._conn: psycopg.Connection[Any] | None = None
        self._log: ProvenanceLog | None = None  # ``log``'s on the writer's session
        with psycopg.connect(database_url) as conn:
            ensure_schema(conn)
            ensure_live_schema(conn)

    def submit(self, item: Item) -> bool:
        """Queue ``item``; False when the queue is full."""
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def run(self, stop: threading.Event) -> None:
        """Store micro-batches until ``stop`` is set (what is queued then is still stored)."""
        while not (stop.is_set() and self.queue.empty()):
            try:
                first = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            items, deadline = [first], time.monotonic() + WINDOW
            while len(items) < MAX_BATCH:
                try:
                    items.append(self.queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self.store(items)
        if self._conn is not None:
            self._conn.close()

    def store(self, items: Sequence[Item]) -> None:
        """Store ``items`` (one batch per system) and resolve their futures."""
        by_system: dict[str, list[Item]] = {}
        for item in items:
            by_system.setdefault(item.system, []).append(item)
        for system, group in by_system.items():
            try:
                self._store_system(system, group)
            except Exception as error:  # the senders get a 503 and push again
                LOGGER.exception("storing a %s micro-batch failed", system)
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                for item in group:
                    item.done.set_exception(error)
                continue
            for item in group:
                item.done.set_result(True)
        self.on_stored()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, application_name="orderhub-live-intake")
            if self.log is not None:
                log = self.log
                self._log = ProvenanceLog(self._conn, log.origin, log.signer, kinds=log.kinds)
            if take_intake_lock(self._conn):
                self.counters["batches_closed"] += len(close_open_batches(self._conn, self._log))
            else:
                LOGGER.warning("another intake writes to this warehouse: no open batch closed")
        return self._conn

    def _store_system(self, system: str, items: Sequence[Item]) -> None:
        conn = self._connection()
        unique = {item.pushed.event_id: item.pushed for item in items}
        # "push-": the SLA clock (dbt_project/macros/clock.sql) moves with polls only
        batch_id = f"push-{system}-{secrets.token_hex(8)}"
        # durable once the batch's second, synchronous commit flushes the WAL (the module)
        conn.execute("set local synchronous_commit = off")
        new = {
            row[0]
            for row in conn.execute(
                "insert into orderhub_meta.push_events (system, event_id, batch_id, record_key)"
                " select %s, e.id, %s, e.key from unnest(%s::text[], %s::text[]) as e(id, key)"
                " on conflict do nothing returning event_id",
                (
                    system,
                    batch_id,
                    list(unique),
                    [_key(system, pushed) for pushed in unique.values()],
                ),
            )
        }
        self.counters["duplicates"] += len(items) - len(new)
        if not new:
            conn.rollback()
            return
        self._load(
            conn, system, batch_id, [unique[event_id] for event_id in unique if event_id in new]
        )

    def _load(
        self, conn: psycopg.Connection[Any], system: str, batch_id: str, events: list[Pushed]
    ) -> None:
        connector = CONNECTORS[system]
        stream = connector.streams[0]
        started = time.monotonic()
        batch = Batch(batch_id, system, stream.name, datetime.now(UTC), None)
        loader = PushLoader(self.database_url, connector, stream, batch, conn=conn)
        loader.open_batch()
        keys: list[str] = []
        for pushed in events:
            if pushed.record is None:
                loader.quarantine(pushed.payload, pushed.reason or "no record")
            elif loader.add(pushed.record):
                keys.append(str(pushed.record[stream.primary_key]))
        conn.execute(
            "insert into orderhub_meta.live_pending (system, record_key)"
            " select %s, unnest(%s::text[])",
            (system, sorted(set(keys))),
        )
        loader.commit(None)  # asynchronous: see the module
        with conn.transaction():  # synchronous: flushes the first commit's WAL too
            result = loader.succeed(started, time.monotonic())
            if self._log is not None:
                self._log.append_event(BATCH_EVENT, extraction_event(result))
        self.counters["stored"] += result.records_stored
        self.counters["quarantined"] += result.records_quarantined
        self.counters["batches"] += 1


def _key(system: str, pushed: Pushed) -> str | None:
    key = (pushed.record or {}).get(CONNECTORS[system].streams[0].primary_key)
    return None if key is None else str(key)
