"""The hot-path worker: recompute the orders a stored micro-batch touched, with dbt's SQL.

Each :meth:`HotPath.step` is one transaction:

1. take up to :data:`BATCH` pending source records (``orderhub_meta.live_pending``, ``for
   update skip locked``: parallel workers take different ones) and delete them - a worker
   killed mid-batch rolls back and they are pending again;
2. lock those records (transaction-scoped advisory locks, in sorted order), delete their
   rows of ``fct_order_status_events`` and insert what its compiled select derives for them
   (the events mart is incremental per source record, as in dbt);
3. the touched orders are the orders of those events before and after, and the orders a
   record left (``previous_order_ids``); lock them, sorted (records are always locked
   before orders and each set in order, so two workers never deadlock, and two batches on
   one order run one after the other, the second seeing the first's events);
4. read each order's status and open exceptions, then per per-order mart in dependency
   order delete the orders' rows and insert its compiled select's rows for them;
5. write the outbox (:mod:`.outbox`) from the before and after, and commit.

The selects are those :mod:`.compiled` reads from ``dbt compile``: no rule of the crosswalk,
the ordering or the exceptions exists here. Rows built here carry the transaction's time as
``built_at``, so the next batch build's incremental watermark lies after them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from orderhub.live.compiled import CompiledModel
from orderhub.live.outbox import order_states, write_outbox
from orderhub.publishing import hold_publish_lock
from orderhub.sources import API_SYSTEMS

LOGGER = logging.getLogger("orderhub.live.hot_path")
#: Source records one hot-path transaction takes at most.
BATCH = 500


def _lock(conn: psycopg.Connection[Any], names: Sequence[str]) -> None:
    """Take a transaction-scoped advisory lock per name, in sorted order of the lock keys."""
    conn.execute(
        "select pg_advisory_xact_lock(k) from ("
        " select distinct hashtextextended(n, 0) as k from unnest(%s::text[]) as n"
        " order by k) as keys",
        (list(names),),
    )


class HotPath:
    """Recomputes touched orders with the compiled selects, one micro-batch at a time."""

    def __init__(
        self,
        database_url: str,
        models: Callable[[], Sequence[CompiledModel]],
        batch: int = BATCH,
    ) -> None:
        self.database_url = database_url
        self.models = models
        self.batch = batch
        self.wake = threading.Event()
        self.counters = {"transactions": 0, "records": 0, "orders": 0, "changes": 0}
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

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, application_name="orderhub-hot-path")
        return self._conn

    def step(self) -> int:
        """One micro-batch in one transaction; how many pending records it took."""
        conn = self._connection()
        models = list(self.models())
        with conn.transaction():
            # a publish (write-audit-publish) waits for this micro-batch, and it for a publish
            hold_publish_lock(conn, shared=True)
            records = conn.execute(
                "delete from orderhub_meta.live_pending where (system, record_key) in ("
                " select system, record_key from orderhub_meta.live_pending"
                " order by queued_at limit %s for update skip locked)"
                " returning system, record_key",
                (self.batch,),
            ).fetchall()
            if not records:
                return 0
            orders = self._events(conn, models[0], records)
            if orders:
                before = order_states(conn, orders)
                params = {"orders": orders}
                for model in models[1:]:
                    conn.execute(
                        f"delete from {model.relation} where order_id = any(%(orders)s)",
                        params,
                    )
                    conn.execute(_insert(conn, model), params)
                self.counters["changes"] += write_outbox(conn, orders, before)
        self.counters["transactions"] += 1
        self.counters["records"] += len(records)
        self.counters["orders"] += len(orders)
        return len(records)

    def _events(
        self, conn: psycopg.Connection[Any], model: CompiledModel, records: list[tuple[str, str]]
    ) -> list[str]:
        """Re-derive the records' events; the orders they touched, locked, sorted."""
        _lock(conn, [f"record:{system}/{key}" for system, key in records])
        systems = [system for system, _ in records]
        keys = [key for _, key in records]
        params: dict[str, Any] = {
            f"{system}_records": [key for s, key in records if s == system]
            for system in API_SYSTEMS
        }
        where = (
            "(source_system, source_record_key) in"
            " (select * from unnest(%(systems)s::text[], %(keys)s::text[]))"
        )
        which = {"systems": systems, "keys": keys}
        old = conn.execute(
            f"delete from {model.relation} where {where} returning order_id, previous_order_ids",
            which,
        ).fetchall()
        conn.execute(_insert(conn, model), params)
        new = conn.execute(
            f"select order_id, previous_order_ids from {model.relation} where {where}",
            which,
        ).fetchall()
        orders: set[str] = set()
        for order_id, previous in [*old, *new]:
            if order_id is not None:
                orders.add(order_id)
            orders.update(previous or [])
        ordered = sorted(orders)
        _lock(conn, [f"order:{order_id}" for order_id in ordered])
        return ordered


#: Each mart's columns, per compiled select (a new compile reads them again).
_COLUMNS: dict[tuple[str, str], list[str]] = {}


def _insert(conn: psycopg.Connection[Any], model: CompiledModel) -> str:
    """``insert into <mart> (<columns>) select <columns> from (<compiled select>)``."""
    columns = _COLUMNS.get((model.relation, model.select))
    if columns is None:
        columns = [
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (model.schema, model.table),
            )
        ]
        if not columns:
            raise RuntimeError(f"{model.relation} does not exist: build the marts once first")
        _COLUMNS[(model.relation, model.select)] = columns
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f"insert into {model.relation} ({names}) select {names} from (\n"
        f"{model.select}\n) as hot_path"
    )
