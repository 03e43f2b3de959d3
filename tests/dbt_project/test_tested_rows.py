"""A build's data tests on the marts that keep their rows read the rows written since the
test last passed in a build (``macros/tested_rows.sql``): a row written after that mark is
read until a build passes with it; a test without a mark (new, or changed), ``dbt test``
and ``test_all_rows`` read every row; a test that reads two models is not narrowed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
from dbt_builds import Build, build, database, run_dbt

EVENTS = "marts.fct_order_status_events"
#: the builds after the first select the events mart alone (and so its tests): what is
#: asserted is that mart's test, and a build of one model narrows its tests as a whole one
ONE = ("--select", "fct_order_status_events")
TEST = "not_null_fct_order_status_events"
#: the marts that keep their rows (built_at on every row) and have error tests
KEEPING = {
    "fct_order_current_status",
    "fct_order_exceptions",
    "fct_order_status_events",
    "fct_order_timeline",
    "fct_shipment_current_status",
}


def _marks(url: str) -> dict[tuple[str, str], datetime]:
    """(table, test's unique_id) → the mark."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select table_name, test_id, tested_through from orderhub_meta.tested_rows"
            " where schema_name = 'marts'"
        ).fetchall()
    return {(table, test): mark for table, test, mark in rows}


def _mark_of(marks: dict[tuple[str, str], datetime], table: str) -> datetime:
    (mark,) = [m for (t, test), m in marks.items() if t == table and f".{TEST}." in test]
    return mark


def _status(step: Build) -> str:
    return str(step.result_of(TEST).status)


def _set_event_class(url: str, event_id: str, value: str | None, *, now: bool) -> None:
    with psycopg.connect(url) as conn:
        stamp = ", built_at = now()" if now else ""
        conn.execute(
            f"update {EVENTS} set event_class = %s{stamp} where event_id = %s", (value, event_id)
        )


def test_a_build_tests_the_rows_written_since_its_tests_last_passed(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    with database(pg_server, template=main_build.url) as url:
        first = _marks(url)
        # the build passed: each error test on one mart that keeps its rows is marked with
        # the build's stamp; a relationships test reads two models and is not narrowed
        assert {table for table, _ in first} == KEEPING and len(set(first.values())) == 1
        assert not [test for _, test in first if ".relationships_" in test]
        events_mark = _mark_of(first, "fct_order_status_events")
        (event_id, event_class), *_ = main_build.query(
            f"select event_id, event_class from {EVENTS} order by event_id limit 1"
        )
        # a row written after the mark (as the live path writes between builds), wrong
        _set_event_class(url, event_id, None, now=True)
        second = build(url, tmp_path, *ONE)
        assert _status(second) == "fail"
        assert _mark_of(_marks(url), "fct_order_status_events") == events_mark
        # the next build rebuilds nothing of it, and reads it again
        third = build(url, tmp_path, *ONE)
        assert _status(third) == "fail"
        assert third.rows_written("fct_order_status_events") == 0
        # mended, a build passes and moves the mark past it
        _set_event_class(url, event_id, event_class, now=True)
        fourth = build(url, tmp_path, *ONE)
        assert fourth.success, fourth.not_passing()
        assert _mark_of(_marks(url), "fct_order_status_events") > events_mark
        # a row from before the mark is not read by a build, but by `dbt test` and by a
        # build with test_all_rows
        _set_event_class(url, event_id, None, now=False)
        assert _status(build(url, tmp_path, *ONE)) == "pass"
        result, _ = run_dbt(url, tmp_path, "test", "--select", TEST)
        (tested,) = [r for r in result.result.results if r.node.name == TEST]
        assert str(tested.status) == "fail"
        every_row = build(url, tmp_path, *ONE, "--vars", "{test_all_rows: true}")
        assert _status(every_row) == "fail"
        # a test without a mark - new, or changed (another unique_id) - reads every row
        with psycopg.connect(url) as conn:
            conn.execute(f"delete from orderhub_meta.tested_rows where test_id like '%.{TEST}.%'")
        assert _status(build(url, tmp_path, *ONE)) == "fail"
