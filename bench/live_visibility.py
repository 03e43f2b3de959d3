"""``bench/live.py``'s visibility poll: when each requested change is in ``/orders``.

A change is visible once its event is in ``fct_order_status_events`` (written in the
transaction that recomputed the order's row of ``/orders``). Every 20 ms the poll looks up
each change still pending by its order, its event time (to the second, as ``POST /changes``
reports it) and its tracker, through the mart's ``(order_id, event_time)`` index, and reads
back only the changes found: what a poll reads grows with the changes pending, not with
the pending trackers' histories (docs/live.md, "The bench's visibility poll").
"""

from __future__ import annotations

import threading
import time

import psycopg


class Visibility:
    """Polls which requested changes are in the events mart (:data:`_SEEN`), and when."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: (tracker, event time) → (order, asked at)
        self.pending: dict[tuple[str, str], tuple[str, float]] = {}
        self.seen: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.deadline = float("inf")

    def add(self, key: str, order_id: str, event_at: str, asked: float) -> None:
        with self.lock:
            self.pending[(key, event_at)] = (order_id, asked)

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set() or self.pending:
                with self.lock:
                    wanted = [(key, at, order) for (key, at), (order, _) in self.pending.items()]
                if wanted:
                    keys, times, orders = (list(column) for column in zip(*wanted, strict=True))
                    rows = conn.execute(_SEEN, (keys, times, orders)).fetchall()
                    now = time.monotonic()
                    with self.lock:
                        for key, event_at in rows:
                            found = self.pending.pop((key, event_at), None)
                            if found is not None:
                                self.seen[(key, event_at)] = now - found[1]
                if self.stop.is_set() and time.monotonic() > self.deadline:
                    break
                time.sleep(0.02)


#: The pending changes (tracker, event time to the second, order) whose event is in the events
#: mart, each looked up by the mart's (order_id, event_time) index: what a poll reads grows
#: with the changes pending, not with the pending trackers' histories.
_SEEN = """
select c.key, c.at from unnest(%s::text[], %s::text[], %s::text[]) as c(key, at, order_id)
where exists (select from marts.fct_order_status_events as e
    where e.order_id = c.order_id and e.event_time >= c.at::timestamptz
    and e.event_time < c.at::timestamptz + interval '1 second'
    and e.source_system = 'tms' and e.source_record_key = c.key)
"""
