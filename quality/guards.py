"""Guards of a build against the last published one: row counts and distributions, as data.

A write-audit-publish build is checked where it was written (its colour's marts) against
what the API serves now (the published colour's): a table must not lose more than
``max_drop`` of its rows, and the shares of a column's values must not move by more than
``max_shift`` (total variation distance: half the sum of the absolute differences of the
shares). A guard compares only when the published table has at least ``min_rows`` rows, so
a young warehouse is not judged on a handful of orders; with nothing published, every
guard passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Guard:
    """One guard on ``table``: a row count (no ``column``) or a distribution of ``column``."""

    name: str
    table: str
    column: str | None = None
    max_drop: float = 0.5
    max_shift: float = 0.5
    min_rows: int = 20


GUARDS: tuple[Guard, ...] = (
    Guard("orders_row_count", "fct_order_current_status"),
    Guard("events_row_count", "fct_order_status_events"),
    Guard("demand_row_count", "fct_daily_demand"),
    Guard("status_distribution", "fct_order_current_status", "canonical_status", min_rows=500),
)


@dataclass(frozen=True)
class GuardOutcome:
    guard: Guard
    passed: bool
    built: float
    published: float | None
    description: str


def _exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute("select to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
    return row is not None and row[0] is not None


def _count(conn: psycopg.Connection, schema: str, table: str) -> int:
    row = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
    ).fetchone()
    return int(row[0]) if row else 0


def _shares(conn: psycopg.Connection, schema: str, table: str, column: str) -> dict[str, float]:
    rows = conn.execute(
        sql.SQL("select {c}::text, count(*) from {t} group by 1").format(
            c=sql.Identifier(column), t=sql.Identifier(schema, table)
        )
    ).fetchall()
    total = sum(int(n) for _, n in rows) or 1
    return {str(value): int(n) / total for value, n in rows}


def check_guard(url: str, guard: Guard, built: str, published: str | None) -> GuardOutcome:
    """``guard`` on the build in schema ``built`` against the schema ``published``."""
    with psycopg.connect(url) as conn:
        rows = _count(conn, built, guard.table)
        if published is None or published == built or not _exists(conn, published, guard.table):
            return GuardOutcome(guard, True, rows, None, "nothing published to compare with")
        before = _count(conn, published, guard.table)
        if before < guard.min_rows:
            return GuardOutcome(
                guard, True, rows, before, f"{before} published rows: below {guard.min_rows}"
            )
        if guard.column is None:
            drop = 1 - rows / before
            passed = drop <= guard.max_drop
            text = f"{guard.table}: {rows} rows, {before} published ({drop:.1%} lost"
            return GuardOutcome(guard, passed, rows, before, f"{text}, max {guard.max_drop:.0%})")
        new = _shares(conn, built, guard.table, guard.column)
        old = _shares(conn, published, guard.table, guard.column)
    shift = sum(abs(new.get(k, 0.0) - old.get(k, 0.0)) for k in new.keys() | old.keys()) / 2
    passed = shift <= guard.max_shift
    text = f"{guard.table}.{guard.column}: shares moved by {shift:.1%}, max {guard.max_shift:.0%}"
    return GuardOutcome(guard, passed, shift, 0.0, text)
