"""The ``cases`` schema: cases, their append-only actions, the rules as tables, and the
SQL every raiser and actor goes through.

- ``cases.cases``: one row per case - what it is about (an order, or a subject such as a
  check, a job, an asset or a source system), its kind, state (open, assigned,
  acknowledged, resolved, dismissed), severity, team, response target, escalation level
  and times. One open case per (kind, subject): a partial unique index. A case covers
  conditions (``condition_keys``: the exception ids, the silence or staleness it saw);
  once closed, a condition it covered raises nothing, and a new condition of the same
  (kind, subject) opens a new case row that ``reopens`` the last one.
- ``cases.case_actions``: who did what to which case, when, with which note - opened,
  reopened, assigned, acknowledged, resolved, dismissed, escalated. Never updated nor
  deleted: a trigger rejects both, and nobody is granted them.
- three queues an action's insert fills, each emptied by one worker: ``unlogged`` (the
  provenance logger), ``unalerted`` (the alerter: openings and escalations) and
  ``unpublished`` (the live path's relay to the outbox).
- ``cases.routing_rules``, ``cases.clock_rules``, ``cases.tag_conflicts``: the seeds
  ``case_routing``, ``case_clocks`` and ``tag_conflicts``, loaded by :func:`ensure_schema`.

The functions (``raise_case``, ``act``, ``raise_from_exceptions``, ``sweep``) are in
:mod:`.functions`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from orderhub.cases.functions import FUNCTIONS
from orderhub.seeds import read_seed

#: The states of a case still being worked.
OPEN_STATES = ("open", "assigned", "acknowledged")
#: The advisory lock serialising the schema's creation.
SCHEMA_LOCK = 0x6361736573  # "cases"

TABLES = """
create schema if not exists cases;
create table if not exists cases.cases (
    case_id bigint generated always as identity primary key,
    kind text not null,
    subject text not null,
    order_id text,
    state text not null default 'open'
        check (state in ('open', 'assigned', 'acknowledged', 'resolved', 'dismissed')),
    severity text not null default 'error',
    team text not null,
    target text,
    escalate_target text,
    digest boolean not null default false,
    response_minutes integer not null default 15,
    escalation_level integer not null default 0,
    assignee text,
    detail jsonb not null default '{}',
    condition_keys text[] not null default '{}',
    reopens bigint references cases.cases,
    times_seen integer not null default 1,
    opened_at timestamptz not null default clock_timestamp(),
    last_seen_at timestamptz not null default clock_timestamp(),
    respond_by timestamptz not null,
    acknowledged_at timestamptz,
    closed_at timestamptz
);
create unique index if not exists cases_one_open
    on cases.cases (kind, subject) where state in ('open', 'assigned', 'acknowledged');
create index if not exists cases_subject_idx on cases.cases (kind, subject, case_id);
create index if not exists cases_due_idx on cases.cases (respond_by)
    where state in ('open', 'assigned');
create table if not exists cases.case_actions (
    action_id bigint generated always as identity primary key,
    case_id bigint not null references cases.cases,
    action text not null,
    actor text not null,
    note text,
    detail jsonb not null default '{}',
    acted_at timestamptz not null default clock_timestamp()
);
create index if not exists case_actions_case_idx on cases.case_actions (case_id, action_id);
create table if not exists cases.unlogged (action_id bigint primary key);
create table if not exists cases.unalerted (action_id bigint primary key);
create table if not exists cases.unpublished (action_id bigint primary key);
create table if not exists cases.action_leaves (
    action_id bigint primary key, leaf_index bigint not null
);
create table if not exists cases.alerts (
    alert_id bigint generated always as identity primary key,
    case_id bigint not null references cases.cases,
    action_id bigint,
    team text not null,
    outcome text not null,
    error text,
    sent_at timestamptz not null default clock_timestamp()
);
create index if not exists alerts_case_idx on cases.alerts (case_id, sent_at);
create table if not exists cases.digest (
    action_id bigint primary key, case_id bigint not null, target text not null,
    queued_at timestamptz not null default clock_timestamp()
);
create table if not exists cases.routing_rules (
    rule_id text primary key, kind text, severity text, region text, sales_channel text,
    tag text, team text not null, target text, escalate_target text,
    response_minutes integer not null, digest boolean not null
);
create table if not exists cases.clock_rules (
    rule text not null, subject text, minutes integer not null, severity text not null
);
create table if not exists cases.tag_conflicts (tag text not null, other_tag text not null);

create or replace function cases.reject_change() returns trigger language plpgsql as $$
begin
    raise exception 'case actions are append-only: % refused', tg_op
        using errcode = '42501', hint = 'record a new action instead';
end
$$;
create or replace trigger case_actions_append_only
    before update or delete on cases.case_actions
    for each row execute function cases.reject_change();
create or replace trigger case_actions_no_truncate
    before truncate on cases.case_actions
    for each statement execute function cases.reject_change();
create or replace function cases.queue_action() returns trigger language plpgsql as $$
begin
    insert into cases.unlogged select action_id from new_actions;
    insert into cases.unpublished select action_id from new_actions;
    insert into cases.unalerted select action_id from new_actions
        where action in ('opened', 'reopened', 'escalated');
    return null;
end
$$;
create or replace trigger case_actions_queue
    after insert on cases.case_actions referencing new table as new_actions
    for each statement execute function cases.queue_action();
revoke all on cases.case_actions from public;
"""


def _load_rules(conn: psycopg.Connection[Any]) -> None:
    """The routing, clock and tag-conflict seeds into their tables (replaced whole)."""
    tables = {
        "routing_rules": ("case_routing", "rule_id", "kind", "severity", "region",
                          "sales_channel", "tag", "team", "target", "escalate_target",
                          "response_minutes", "digest"),
        "clock_rules": ("case_clocks", "rule", "subject", "minutes", "severity"),
        "tag_conflicts": ("tag_conflicts", "tag", "other_tag"),
    }  # fmt: skip
    for table, (seed, *columns) in tables.items():
        conn.execute(f"delete from cases.{table}")
        with conn.cursor() as cur:
            cur.executemany(
                f"insert into cases.{table} ({', '.join(columns)})"
                f" values ({', '.join(['%s'] * len(columns))})",
                [tuple(row[c] for c in columns) for row in read_seed(seed)],
            )


def _migrate_meta_cases(conn: psycopg.Connection[Any]) -> None:
    """Cases of the former ``orderhub_meta.cases`` table move here (once), then it goes."""
    if conn.execute("select to_regclass('orderhub_meta.cases')").fetchone() == (None,):
        return
    rows = conn.execute(
        "select kind, subject, detail from orderhub_meta.cases where closed_at is null"
    ).fetchall()
    for kind, subject, detail in rows:
        conn.execute(
            "select cases.raise_case(%s, %s, null, '', 'error', %s, 'orderhub')",
            (kind, subject, psycopg.types.json.Jsonb(detail)),
        )
    conn.execute("drop table orderhub_meta.cases")


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the schema, its functions and rules where missing; load the rule seeds
    again (commits)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(TABLES)
        conn.execute(FUNCTIONS)
        _load_rules(conn)
        _migrate_meta_cases(conn)
