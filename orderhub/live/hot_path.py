"""The hot-path worker: recompute the orders a stored micro-batch touched, with dbt's SQL.

Each :meth:`HotPath.step` is one transaction:

1. take up to :data:`BATCH` pending source records (``orderhub_meta.live_pending``, a
   queue, ``for update skip locked``: parallel workers take different rows) and delete
   them - a worker killed mid-batch rolls back and they are pending again; a record queued
   twice is recomputed once, and a record another worker holds (its advisory lock, tried
   without waiting) is left for a later batch: two workers recompute different records
   side by side rather than one waiting for the other;
2. lock those records (transaction-scoped advisory locks, in sorted order), delete their
   rows of ``fct_order_status_events`` and insert what its compiled select derives for them
   (the events mart is incremental per source record, as in dbt; a tracker already there
   only gets its new versions' events: ``recompute.add_new_tracker_versions``);
3. the touched orders are the orders of those events before and after, and the orders a
   record left (``previous_order_ids``); lock them, sorted (records are always locked
   before orders and each set in order, so two workers never deadlock, and two batches on
   one order run one after the other, the second seeing the first's events);
4. read each order's status and open exceptions, then per per-order mart in dependency
   order delete the orders' rows and insert its compiled select's rows for them;
5. write the outbox (:mod:`.outbox`) from the before and after, and commit.

Steps 2 to 4 run the selects compiled for the colour the API serves, read under the
publish lock after step 1 (none published: the ``marts`` schema's own tables); a colour not
compiled yet rolls the micro-batch back and is compiled outside it (:class:`NotCompiled`).
They are the per-order engine, :mod:`orderhub.recompute` (dbt's compiled selects;
the publish step runs the same engine into the colour it publishes): no rule of the
crosswalk, the ordering or the exceptions exists here. Rows written here carry the
transaction's time as ``built_at``, so the next batch build's incremental watermark lies
after them; the timeline's rows that did not change keep theirs (the engine writes only the
rows that differ there).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from orderhub.live.outbox import order_states, write_outbox
from orderhub.publishing import hold_publish_lock, published_colour
from orderhub.recompute import (
    RECORD_LOCK_SQL,
    CompiledModel,
    recompute_orders,
    rederive_events,
)

LOGGER = logging.getLogger("orderhub.live.hot_path")
#: Source records one hot-path transaction takes at most (a worker takes what is pending,
#: up to this, so a micro-batch grows with the arrival rate). A transaction costs ~85 ms
#: whatever it holds and ~1.3 ms a record more (docs/live.md, "Is the load realistic?");
#: The ``application_name`` of the workers' sessions (what ``pg_stat_activity`` shows).
APPLICATION_NAME = "orderhub-hot-path"
#: at 500 the 200/s bench's transactions held ~430 records and took ~5 s each - every
#: change waited for one - so the cap keeps a transaction under a second.
BATCH = 160
#: The session prepares every statement at its first use and plans it once, generically:
#: planning the compiled selects (20-60 ms each) cost more than running them for a
#: micro-batch, and their generic plans read the marts and raw tables by index for the
#: orders and records bound (bench/RESULTS.md, "Live path").
SESSION_OPTIONS = "-c plan_cache_mode=force_generic_plan"


#: The take: the oldest pending records no other worker holds, and every row this transaction
#: sees of them (their changes are all in the raw tables already, so one derivation covers
#: them; a row stored later stays for the next batch). A record's lock is tried only on the
#: rows the LIMIT takes: the queue is read in order without locks, and each row is then
#: looked up, its record's lock tried and the row locked in a lateral subquery the LIMIT
#: pulls row by row. With the try in the WHERE of ``order by ... limit ... for update``
#: that held only while the plan was an index scan in queue order; a sort of the filtered
#: rows (a plan the planner may choose) locked every pending record and left the other
#: worker nothing (docs/live.md, "The take's locks"; tested under both plans).
TAKE = (
    "with picked as (select l.system, l.record_key from"
    " (select pending_id from orderhub_meta.live_pending order by pending_id) as queued"
    " cross join lateral (select q.system, q.record_key from orderhub_meta.live_pending as q"
    f" where q.pending_id = queued.pending_id and pg_try_advisory_xact_lock({RECORD_LOCK_SQL})"
    " for update skip locked) as l limit %s)"
    " delete from orderhub_meta.live_pending as p"
    " using (select distinct system, record_key from picked) as r"
    " where p.system = r.system and p.record_key = r.record_key"
    " returning p.system, p.record_key"
)


def session(database_url: str) -> psycopg.Connection[Any]:
    """A hot-path session: named, every statement prepared and planned generically."""
    conn = psycopg.connect(database_url, application_name=APPLICATION_NAME, options=SESSION_OPTIONS)
    conn.prepare_threshold = 0
    return conn


def take(conn: psycopg.Connection[Any], batch: int) -> list[tuple[str, str]]:
    """Take (delete, in the open transaction) up to ``batch`` pending records (:data:`TAKE`)."""
    return conn.execute(TAKE, (batch,)).fetchall()


class NotCompiled(Exception):
    """The selects for a colour are not compiled yet: ``compile()`` compiles them. Raised
    by a ``models`` callable inside a micro-batch, which then rolls back (its records are
    pending again), compiles outside any transaction and lock, and is taken again: a
    ``dbt compile`` of tens of seconds never holds the publish lock or taken records."""

    def __init__(self, compile: Callable[[], None]) -> None:
        super().__init__("the hot path's selects for this colour are not compiled yet")
        self.compile = compile


class HotPath:
    """Recomputes touched orders with the compiled selects, one micro-batch at a time."""

    def __init__(
        self,
        database_url: str,
        models: Callable[[str | None], Sequence[CompiledModel]],
        batch: int = BATCH,
    ) -> None:
        """``models(colour)``: the compiled selects that read and write ``colour``'s marts,
        the published one (None before any publish: the ``marts`` schema's own tables), or
        :class:`NotCompiled`."""
        self.database_url = database_url
        self.models = models
        self.batch = batch
        self.wake = threading.Event()
        self.counters: dict[str, Any] = {
            "transactions": 0, "records": 0, "orders": 0, "changes": 0,
        }  # fmt: skip
        #: Seconds spent per mart (and writing the outbox), summed over the transactions.
        self.seconds: dict[str, float] = {}
        self.counters["seconds"] = self.seconds
        self._conn: psycopg.Connection[Any] | None = None

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop``; between batches wait for :attr:`wake` (or 0.2 s)."""
        while not stop.is_set():
            try:
                if self.step():
                    continue
            except Exception:
                LOGGER.exception("hot-path batch failed; its records stay pending")
                self._drop_connection()
                time.sleep(0.5)
            self.wake.wait(0.2)
            self.wake.clear()
        self._drop_connection()

    def _took(self, name: str, started: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = session(self.database_url)
        return self._conn

    def step(self) -> int:
        """One micro-batch in one transaction; how many pending records it took (none
        when the published colour's selects had to be compiled first)."""
        try:
            return self._step(self._connection())
        except NotCompiled as missing:
            missing.compile()
            return 0

    def _step(self, conn: psycopg.Connection[Any]) -> int:
        with conn.transaction():
            # a publish (write-audit-publish) waits for this micro-batch, and it for a publish
            hold_publish_lock(conn, shared=True)
            taken = take(conn, self.batch)
            if not taken:
                return 0
            # the colour served now, which no publish changes before this batch commits
            models = list(self.models(published_colour(conn)))
            records = sorted(set(taken))  # a record changed twice while pending: once
            started = time.perf_counter()
            orders = rederive_events(conn, models[0], records)
            self._took(models[0].name, started)
            if orders:
                before = order_states(conn, orders)
                recompute_orders(conn, models[1:], orders, self.seconds)
                started = time.perf_counter()
                self.counters["changes"] += write_outbox(conn, orders, before)
                self._took("outbox", started)
        self.counters["transactions"] += 1
        self.counters["records"] += len(records)
        self.counters["orders"] += len(orders)
        return len(records)
