"""A build's data tests on a view or ephemeral model read only through one incremental
mart (its meta tests_narrowed_by; ``macros/rebuilt_rows.sql``) read the orders or source
records that mart rebuilds in the build: a wrong row of a rebuilt order fails the build,
the mart is skipped and the next build reads that order again until it is mended; a
wrong row of an order the build does not rebuild is read by ``dbt test``, by
``test_all_rows``, by a --full-refresh build and by the first build after the mart was
built without the test; a second model reading a narrowed view fails the compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from dbt_builds import (
    Build,
    IncrementalBuilds,
    build,
    copy_of_project,
    database,
    load,
    run_dbt,
)
from dbt_scenarios import main_deliveries

from orchestration.dbt_run import FLOW_BUILD_EXCLUDES

EVENTS = "marts.fct_order_status_events"
RULE = "int_order_exceptions__record_reassigned"
TEST = f"not_null_{RULE}"
#: after the second delivery's build: the rule, its test and what reads it (the mart)
RULE_ON = ("--select", f"{RULE}+")
#: a narrowed test of a view the events mart reads
MAPPED_TEST = "not_null_int_order_events__mapped"
#: the second delivery brings new versions of a record of order 1000001 (its tracker) and
#: of ERP order 1000004's own record; it touches no record of order 1000003, a closed one
TOUCHED, UNTOUCHED = "1000001", "1000003"
#: the narrowed relation a generic test reads (macro get_where_subquery)
NARROWED = "dbt_subquery"


def _plant(url: str, left_order: str) -> None:
    """A copy of an event of ERP order 1000003's own record, without an id, saying the
    record left ``left_order``: rule record_reassigned makes an involvement without an
    event on 1000003 (the order it joined) and on ``left_order`` (the one it left). The
    copy keeps the event's built_at: no mart rebuilds an order for it."""
    with psycopg.connect(url) as conn:
        conn.execute(
            f"create temporary table planted as select * from {EVENTS}"
            " where source_system = 'erp' and source_record_key = %s"
            " order by event_id limit 1",
            (UNTOUCHED,),
        )
        conn.execute(
            "update planted set event_id = null, order_reassigned_at = event_time,"
            " previous_order_ids = jsonb_build_array(%s::text)",
            (left_order,),
        )
        conn.execute(f"insert into {EVENTS} select * from planted")


def _move_planted(url: str, left_order: str) -> None:
    """The planted event now says its record left ``left_order``."""
    with psycopg.connect(url) as conn:
        conn.execute(
            f"update {EVENTS} set previous_order_ids = jsonb_build_array(%s::text)"
            " where event_id is null",
            (left_order,),
        )


def _mend(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(f"delete from {EVENTS} where event_id is null")


def _result(step: Build, name: str) -> tuple[str, str]:
    """(status, compiled SQL) of the node ``name`` in the build."""
    found = step.result_of(name)
    return str(found.status), found.node.compiled_code


def _tested(result: Any, name: str) -> tuple[str, str]:
    """(status, compiled SQL) of the test ``name`` in a `dbt test`."""
    (found,) = [r for r in result.result.results if r.node.name == name]
    return str(found.status), found.node.compiled_code


def test_a_build_tests_a_rule_on_the_orders_its_mart_rebuilds(
    pg_server: str, incremental: IncrementalBuilds, tmp_path: Path
) -> None:
    # the first delivery loaded and built (the same flow build): a copy of the incremental
    # builds' database as their first build left it
    _, late = main_deliveries()
    assert incremental.first.success, incremental.first.not_passing()
    with database(pg_server, template=incremental.after_first) as url:
        _plant(url, left_order=TOUCHED)
        load(url, late)
        second = build(url, tmp_path, *FLOW_BUILD_EXCLUDES)
        # the rule's test reads the orders fct_order_exceptions rebuilds: 1000001, one of
        # whose records has a new version, and not 1000003
        status, sql = _result(second, TEST)
        assert status == "fail"
        assert NARROWED in sql and f"'{TOUCHED}'" in sql and f"'{UNTOUCHED}'" not in sql
        # it fails before the mart is built: the mart is skipped
        assert _result(second, "fct_order_exceptions")[0] == "skipped"
        # a view's test reads the source records the events mart re-derives (by the
        # event's keys and its record's): ERP order 1000004's record, not 1000003's
        status, sql = _result(second, MAPPED_TEST)
        assert status == "pass"
        assert "record_source_system" in sql and "'1000004'" in sql and "'1000003'" not in sql
        # the mart did not move its watermark: the next build reads 1000001 again
        third = build(url, tmp_path, *RULE_ON)
        assert _result(third, TEST)[0] == "fail"
        assert _result(third, "fct_order_exceptions")[0] == "skipped"
        # mended for 1000001 (the wrong row is on 1000003 alone now): the build passes
        # and builds the mart
        _move_planted(url, left_order=UNTOUCHED)
        fourth = build(url, tmp_path, *RULE_ON)
        status, sql = _result(fourth, TEST)
        assert status == "pass" and NARROWED in sql and f"'{TOUCHED}'" in sql
        assert _result(fourth, "fct_order_exceptions")[0] == "success"
        # the wrong row of 1000003 is read by `dbt test`, by test_all_rows and by a
        # --full-refresh build, none of them narrowed
        tested, _ = run_dbt(url, tmp_path, "test", "--select", TEST)
        status, sql = _tested(tested, TEST)
        assert status == "fail" and NARROWED not in sql
        every_row = build(url, tmp_path, *RULE_ON, "--vars", "{test_all_rows: true}")
        assert _result(every_row, TEST)[0] == "fail"
        refreshed = build(url, tmp_path, "--full-refresh", "--select", RULE)
        status, sql = _result(refreshed, TEST)
        assert status == "fail" and NARROWED not in sql
        # the mart built without the test: the test's mark is older than the mart's rows,
        # so the next build reads every order
        mart_alone = build(url, tmp_path, "--select", "fct_order_exceptions")
        assert mart_alone.rows_written("fct_order_exceptions") > 0
        after = build(url, tmp_path, *RULE_ON)
        status, sql = _result(after, TEST)
        assert status == "fail" and NARROWED not in sql
        # mended: a build passes and marks the test; the next build is narrowed again
        _mend(url)
        assert _result(build(url, tmp_path, *RULE_ON), TEST)[0] == "pass"
        status, sql = _result(build(url, tmp_path, *RULE_ON), TEST)
        assert status == "pass" and NARROWED in sql


def test_a_second_model_reading_a_narrowed_view_fails_its_tests(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    project = copy_of_project(tmp_path)
    reader = project / "models" / "intermediate" / "int_source_records__reread.sql"
    reader.write_text("select * from {{ ref('int_source_records__latest') }}\n")
    with database(pg_server, template=main_build.url) as url:
        result, _ = run_dbt(
            url, tmp_path, "build", "--select", "int_source_records__latest", project=project
        )
    errors = [str(r.message) for r in result.result.results if str(r.status) == "error"]
    assert errors and all("int_source_records__reread reads it too" in m for m in errors)


def _extraction_indexes(url: str) -> list[str]:
    """The indexes of the events mart on (source_system, source_extracted_at)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select indexname from pg_indexes where schemaname = 'marts'"
            " and tablename = 'fct_order_status_events'"
            " and indexdef like '%(source_system, source_extracted_at)'"
        ).fetchall()
    return [name for (name,) in rows]


def test_the_events_mart_keeps_one_index_on_each_systems_extraction(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    """Created with the table; given by the post-hook to a table that lacks it; never a
    second one, after an incremental build or a full refresh."""
    events = ("--select", "fct_order_status_events")
    with database(pg_server, template=main_build.url) as url:
        (made,) = _extraction_indexes(url)
        with psycopg.connect(url) as conn:
            conn.execute(f'drop index marts."{made}"')
        assert build(url, tmp_path, *events).success
        assert len(_extraction_indexes(url)) == 1  # a table built before it gets it
        assert build(url, tmp_path, *events).success
        assert len(_extraction_indexes(url)) == 1
        assert build(url, tmp_path, "--full-refresh", *events).success
        assert len(_extraction_indexes(url)) == 1
