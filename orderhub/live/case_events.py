"""Cases on the live path: exceptions the hot path finds raise cases, and every action on
a case goes to subscribers through the outbox, like a status change.

- :meth:`CaseEvents.detect`: the hot path writes an ``exception_opened`` outbox row per new
  exception (:mod:`.outbox`); this follows the outbox by its cursor (gapless, in commit
  order; the position is kept in ``cases.live_cursor``) and raises the cases of those
  orders through ``cases.raise_from_exceptions`` - the same function the batch flow calls
  after a publish. The hot path itself is not changed: this reads what it committed.
- :meth:`CaseEvents.relay`: every action queues itself in ``cases.unpublished``; this turns
  each into an outbox row (kind ``case_<action>``, ``exception_type`` the case's kind, so a
  subscription's exception types filter them; payload type ``case.<action>``) and queues
  its deliveries, in the transaction that empties the queue. A case about a subject, not
  an order, carries an empty ``order_id``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

from orderhub.cases.store import raise_from_marts, ready
from orderhub.live.outbox import append

LOGGER = logging.getLogger("orderhub.live.cases")
#: Seconds between two looks at the outbox and the action queue.
POLL = 0.2
#: Actions one relay transaction takes at most.
BATCH = 1000

_CURSOR = """
create table if not exists cases.live_cursor (
    name text primary key, change_id bigint not null
);
insert into cases.live_cursor values ('exceptions',
    (select coalesce(max(change_id), 0) from orderhub_meta.outbox))
on conflict do nothing;
"""

_TAKE = """
with taken as (
    delete from cases.unpublished where action_id in (
        select action_id from cases.unpublished order by action_id limit %s
        for update skip locked)
    returning action_id
)
select coalesce(c.order_id, ''), 'case_' || a.action, c.kind, jsonb_build_object(
        'type', 'case.' || a.action, 'case_id', c.case_id, 'kind', c.kind,
        'subject', c.subject, 'order_id', c.order_id, 'state', c.state,
        'severity', c.severity, 'team', c.team, 'escalation_level', c.escalation_level,
        'action_id', a.action_id, 'action', a.action, 'actor', a.actor, 'note', a.note,
        'acted_at', a.acted_at)
from taken join cases.case_actions as a using (action_id) join cases.cases as c using (case_id)
order by a.action_id
"""


class CaseEvents:
    """The detector and the relay of one warehouse (each a ``run(stop)`` worker)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.counters = {"raised": 0, "published": 0}
        with psycopg.connect(url) as conn:
            ready(conn).execute(_CURSOR)  # the cases schema, if the bootstrap has not run yet

    def detect_step(self, conn: psycopg.Connection[Any]) -> int:
        """Raise the cases of the exceptions committed since the cursor; how many."""
        with conn.transaction():
            row = conn.execute(
                "select change_id from cases.live_cursor where name = 'exceptions' for update"
            ).fetchone()
            position = int(row[0]) if row else 0
            found = conn.execute(
                "select max(change_id), array_agg(distinct order_id)"
                " filter (where kind = 'exception_opened')"
                " from orderhub_meta.outbox where change_id > %s",
                (position,),
            ).fetchone()
            if found is None or found[0] is None:
                return 0
            raised = raise_from_marts(conn, list(found[1])) if found[1] else 0
            conn.execute(
                "update cases.live_cursor set change_id = %s where name = 'exceptions'",
                (found[0],),
            )
        self.counters["raised"] += raised
        return raised

    def relay_step(self, conn: psycopg.Connection[Any]) -> int:
        """Publish the queued actions to the outbox; how many."""
        with conn.transaction():
            rows = [
                (order_id, kind, None, None, case_kind, [], None, payload)
                for order_id, kind, case_kind, payload in conn.execute(_TAKE, (BATCH,))
            ]
            count = append(conn, rows)
        self.counters["published"] += count
        return count

    def run(self, stop: threading.Event) -> None:
        """Detect and relay until ``stop``."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    busy = self.detect_step(conn) + self.relay_step(conn)
                except Exception:
                    LOGGER.exception("case events failed; trying again")
                    busy = 0
                if not busy:
                    stop.wait(POLL)
