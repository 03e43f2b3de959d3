"""Every action on a case becomes a provenance leaf (kind ``case_action``), appended in
batches so that the ledger is not written per click.

An action's insert queues it in ``cases.unlogged``; :func:`log_actions` takes up to
:data:`BATCH` queued actions (``for update skip locked``), appends one leaf each to the
log in the same transaction that empties the queue and records each action's leaf index
in ``cases.action_leaves``: an action is logged exactly once, or stays queued.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ledger.log import ProvenanceLog
from orderhub.provenance import CASE_ACTION_EVENT

#: Actions one ledger append takes at most.
BATCH = 1000

_TAKE = """
with taken as (
    delete from cases.unlogged where action_id in (
        select action_id from cases.unlogged order by action_id limit %s for update skip locked)
    returning action_id
)
select a.action_id, a.case_id, c.kind, c.subject, a.action, a.actor, a.note, a.acted_at
from taken join cases.case_actions as a using (action_id)
join cases.cases as c using (case_id)
order by a.action_id
"""


def log_actions(log: ProvenanceLog, batch: int = BATCH) -> int:
    """Append the queued actions' leaves (on the log's connection); how many."""
    conn = log.conn
    with conn.transaction():
        rows = conn.execute(_TAKE, (batch,)).fetchall()
        if not rows:
            return 0
        events: list[tuple[str, dict[str, Any]]] = [
            (
                CASE_ACTION_EVENT,
                {
                    "action_id": action_id,
                    "case_id": case_id,
                    "case_kind": kind,
                    "subject": subject,
                    "action": action,
                    "actor": actor,
                    "note": note,
                    "acted_at": acted_at.isoformat(),
                },
            )
            for action_id, case_id, kind, subject, action, actor, note, acted_at in rows
        ]
        indexes = log.append_events(events)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into cases.action_leaves (action_id, leaf_index) values (%s, %s)",
                [(row[0], index) for row, index in zip(rows, indexes, strict=True)],
            )
    return len(rows)


def unlogged(conn: psycopg.Connection[Any]) -> int:
    """How many actions have no leaf yet."""
    row = conn.execute(
        "select count(*) from cases.case_actions as a"
        " where not exists (select from cases.action_leaves as l where l.action_id = a.action_id)"
    ).fetchone()
    return int(row[0]) if row else 0
