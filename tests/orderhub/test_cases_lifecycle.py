"""The case lifecycle in the warehouse: raising, one open case per (kind, subject),
validated actions, append-only history, re-opening, routing, the clock rules and
escalation - through the real PostgreSQL functions of the ``cases`` schema."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from orderhub import cases
from orderhub.cases.store import open_counts


@pytest.fixture
def conn(db_url: str) -> Any:
    with psycopg.connect(db_url, autocommit=True) as connection:
        cases.ensure_schema(connection)
        yield connection


def _actions(conn: psycopg.Connection[Any], case_id: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select action from cases.case_actions where case_id = %s order by action_id",
            (case_id,),
        )
    ]


def test_one_open_case_per_kind_and_subject(conn: psycopg.Connection[Any], db_url: str) -> None:
    first = cases.raise_case(db_url, "run_failed", "job-a", {"n": 1})
    again = cases.raise_case(db_url, "run_failed", "job-a", {"n": 2})
    other = cases.raise_case(db_url, "run_failed", "job-b", {})
    assert first == again != other
    listed = cases.open_cases(db_url, "run_failed")
    assert [(c["subject"], c["times_seen"], c["detail"]) for c in listed] == [
        ("job-a", 2, {"n": 2}),
        ("job-b", 1, {}),
    ]
    assert listed[0]["team"] == "platform"  # case_routing.csv: run_failed -> platform
    assert _actions(conn, first or 0) == ["opened"]


def test_lifecycle_and_validation(conn: psycopg.Connection[Any], db_url: str) -> None:
    case_id = cases.raise_case(db_url, "misroute", "SO-1", {}, order_id="SO-1", condition="x1")
    assert case_id is not None
    assert cases.act(conn, case_id, "assign", "ana", assignee="bo")["state"] == "assigned"
    assert cases.act(conn, case_id, "acknowledge", "bo")["state"] == "acknowledged"
    with pytest.raises(psycopg.Error, match="already acknowledged"):
        cases.act(conn, case_id, "acknowledge", "bo")
    assert cases.act(conn, case_id, "resolve", "bo", note="rerouted")["state"] == "resolved"
    with pytest.raises(psycopg.Error, match="a resolved case cannot be acknowledged") as err:
        cases.act(conn, case_id, "acknowledge", "bo")
    assert err.value.sqlstate == "PT409"
    other = cases.raise_case(db_url, "misroute", "SO-2", {}, order_id="SO-2", condition="y")
    with pytest.raises(psycopg.Error, match="a note is required to dismiss") as err:
        cases.act(conn, other or 0, "dismiss", "bo", note="  ")
    assert err.value.sqlstate == "22023"
    with pytest.raises(psycopg.Error, match="no case 999999") as err:
        cases.act(conn, 999999, "resolve", "bo")
    assert err.value.sqlstate == "PT404"
    assert cases.act(conn, other or 0, "dismiss", "bo", note="test order")["state"] == "dismissed"
    shown = cases.show_case(conn, case_id)
    assert shown is not None
    assert [(a["action"], a["actor"]) for a in shown["actions"]] == [
        ("opened", "orderhub"),
        ("assigned", "ana"),
        ("acknowledged", "bo"),
        ("resolved", "bo"),
    ]
    assert shown["actions"][-1]["note"] == "rerouted"


def test_actions_are_append_only(conn: psycopg.Connection[Any], db_url: str) -> None:
    case_id = cases.raise_case(db_url, "run_failed", "job", {})
    for statement in (
        "update cases.case_actions set note = 'changed'",
        "delete from cases.case_actions",
        "truncate cases.case_actions cascade",
    ):
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute(statement)
    assert _actions(conn, case_id or 0) == ["opened"]


def test_reopened_only_when_the_condition_comes_back(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    first = cases.raise_case(db_url, "stale_order", "SO-9", {}, order_id="SO-9", condition="t1")
    cases.act(conn, first or 0, "resolve", "bo")
    # the same condition, still there: handled, nothing raised
    assert cases.raise_case(db_url, "stale_order", "SO-9", {}, condition="t1") is None
    again = cases.raise_case(db_url, "stale_order", "SO-9", {}, condition="t2")
    assert again is not None and again != first
    assert _actions(conn, again) == ["reopened"]
    row = conn.execute("select reopens from cases.cases where case_id = %s", (again,)).fetchone()
    assert row == (first,)


def test_silent_source_and_escalation_on_the_wall_clock(
    conn: psycopg.Connection[Any],
) -> None:
    conn.execute(
        "create schema orderhub_meta; create table orderhub_meta.extraction_batches ("
        " batch_id text, system text, stream text, started_at timestamptz,"
        " finished_at timestamptz, records_read bigint, status text)"
    )
    conn.execute(
        "insert into orderhub_meta.extraction_batches values"
        " ('b1', 'erp', 'orders', now() - interval '3 hours', now() - interval '3 hours', 5,"
        "  'succeeded'),"
        " ('b2', 'crm', 'orders', now() - interval '5 minutes', now(), 5, 'succeeded')"
    )
    assert conn.execute("select cases.sweep()").fetchone() == (1,)
    assert conn.execute("select cases.sweep()").fetchone() == (0,)  # raised once
    assert open_counts(conn) == {"silent_source": 1}
    (silent,) = cases.list_cases(conn, kind="silent_source")
    assert (silent["subject"], silent["team"]) == ("erp", "integration")
    conn.execute("update cases.cases set respond_by = now() - interval '1 second'")
    conn.execute("select cases.sweep()")
    assert _actions(conn, silent["case_id"]) == ["opened", "escalated"]
    assert cases.list_cases(conn)[0]["escalation_level"] == 1
