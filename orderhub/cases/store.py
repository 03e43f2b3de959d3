"""Cases from Python: raise one, list, show and act on them - each a call of the
``cases`` schema's SQL (:mod:`.functions`), so the Dagster sensors, the publish step, the
live path, the CLI and the API share one lifecycle.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from orderhub.cases.schema import ensure_schema

#: The actions a person takes, as ``cases.act`` names them.
ACTIONS = ("assign", "acknowledge", "resolve", "dismiss")

_LISTED = (
    "case_id, kind, subject, order_id, state, severity, team, assignee, escalation_level,"
    " times_seen, detail, opened_at, respond_by, closed_at"
)


def ready(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """``conn``, with the cases schema created if this warehouse has none yet (a raiser
    may come before the bootstrap, as a Dagster check of a bare build does)."""
    found = conn.execute("select to_regprocedure('cases.sweep()')").fetchone()
    if found is None or found[0] is None:
        conn.commit()
        ensure_schema(conn)
    return conn


def raise_case(
    url: str,
    kind: str,
    subject: str,
    detail: dict[str, Any],
    *,
    order_id: str | None = None,
    condition: str = "",
    severity: str = "error",
) -> int | None:
    """Open a case about ``subject`` (or note an open one seen again); its id (None when
    a closed case already covered ``condition``)."""
    with psycopg.connect(url) as conn:
        row = (
            ready(conn)
            .execute(
                "select cases.raise_case(%s, %s, %s, %s, %s, %s)",
                (kind, subject, order_id, condition, severity, Jsonb(detail)),
            )
            .fetchone()
        )
    return None if row is None or row[0] is None else int(row[0])


def raise_from_marts(conn: psycopg.Connection[Any], orders: list[str] | None = None) -> int:
    """Raise the cases of the marts' exceptions and review queue (of ``orders``; None:
    all) - ``cases.raise_from_exceptions``; how many were opened (none in a warehouse
    without the cases schema, such as a stage's own tests)."""
    found = conn.execute("select to_regclass('cases.cases')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute("select cases.raise_from_exceptions(%s)", (orders,)).fetchone()
    return int(row[0]) if row else 0


def list_cases(
    conn: psycopg.Connection[Any],
    *,
    kind: str | None = None,
    states: tuple[str, ...] = ("open", "assigned", "acknowledged"),
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Cases in ``states`` (of ``kind``), oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return list(
            cur.execute(
                f"select {_LISTED} from cases.cases where state = any(%s)"
                " and (%s::text is null or kind = %s) order by case_id limit %s",
                (list(states), kind, kind, limit),
            )
        )


def open_cases(url: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The cases still worked (of ``kind``), oldest first."""
    with psycopg.connect(url) as conn:
        return list_cases(ready(conn), kind=kind)


def show_case(conn: psycopg.Connection[Any], case_id: int) -> dict[str, Any] | None:
    """One case and its actions (oldest first), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        case = cur.execute(f"select {_LISTED} from cases.cases where case_id = %s", (case_id,))
        found = case.fetchone()
        if found is None:
            return None
        found["actions"] = list(
            cur.execute(
                "select action_id, action, actor, note, detail, acted_at"
                " from cases.case_actions where case_id = %s order by action_id",
                (case_id,),
            )
        )
    return found


def act(
    conn: psycopg.Connection[Any],
    case_id: int,
    action: str,
    actor: str,
    note: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """Take ``action`` on a case (``cases.act``: raises psycopg's error on a refusal);
    the case after it."""
    row = conn.execute(
        "select cases.act(%s, %s, %s, %s, %s)", (case_id, action, actor, note, assignee)
    ).fetchone()
    assert row is not None
    return dict(row[0])


def open_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """How many cases of each kind are still worked."""
    return dict(
        conn.execute(
            "select kind, count(*) from cases.cases"
            " where state in ('open', 'assigned', 'acknowledged') group by kind order by kind"
        ).fetchall()
    )
