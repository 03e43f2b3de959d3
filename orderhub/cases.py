"""Cases the hub raises for people to look at: ``orderhub_meta.cases``, one row per case.

A case names its kind (``publish_blocked``, ``run_failed``, ``stale_asset``, ...), what it
is about (the check, the job, the asset) and a detail document; an open case with the same
kind and subject is not raised twice - it counts how often it was seen again. Whatever
works the cases (a queue, a ticketing system) reads this table.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

CASES_DDL = """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.cases (
    case_id bigint generated always as identity primary key,
    kind text not null,
    subject text not null,
    detail jsonb not null default '{}',
    raised_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    times_seen integer not null default 1,
    closed_at timestamptz
);
create unique index if not exists cases_open_idx
    on orderhub_meta.cases (kind, subject) where closed_at is null;
"""


def raise_case(url: str, kind: str, subject: str, detail: dict[str, Any]) -> int:
    """Open a case (or note an open one again); its id."""
    with psycopg.connect(url) as conn:
        conn.execute(CASES_DDL)
        row = conn.execute(
            "insert into orderhub_meta.cases (kind, subject, detail) values (%s, %s, %s)"
            " on conflict (kind, subject) where closed_at is null do update set"
            " detail = excluded.detail, last_seen_at = now(),"
            " times_seen = orderhub_meta.cases.times_seen + 1"
            " returning case_id",
            (kind, subject, Jsonb(detail)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def open_cases(url: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The open cases (of ``kind``), oldest first."""
    with psycopg.connect(url) as conn:
        conn.execute(CASES_DDL)
        rows = conn.execute(
            "select case_id, kind, subject, detail, times_seen from orderhub_meta.cases"
            " where closed_at is null and (%s::text is null or kind = %s) order by case_id",
            (kind, kind),
        ).fetchall()
    keys = ("case_id", "kind", "subject", "detail", "times_seen")
    return [dict(zip(keys, row, strict=True)) for row in rows]
