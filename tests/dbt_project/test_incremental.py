"""Incremental builds: built delivery by delivery they equal a full build, touch only
what changed, rebuild a table whose model changed, and a --full-refresh after a seed
change changes nothing."""

from __future__ import annotations

from pathlib import Path

from dbt_builds import (
    MART_TABLES,
    Build,
    IncrementalBuilds,
    Remapped,
    build,
    copy_of_project,
    database,
)
from dbt_records import trk

from orchestration.dbt_run import FLOW_BUILD_EXCLUDES


def test_incremental_builds_equal_a_full_build(
    main_build: Build, incremental: IncrementalBuilds
) -> None:
    for step in (incremental.first, incremental.second, incremental.idle):
        assert step.success, step.not_passing()
    full = main_build.tables()
    for table in MART_TABLES:
        assert incremental.tables_after_second[table] == full[table], table
    assert incremental.idle.tables() == full


def test_incremental_builds_touch_only_what_changed(
    main_build: Build, incremental: IncrementalBuilds
) -> None:
    second, idle = incremental.second, incremental.idle
    # the second delivery brought new versions of 7 of the 23 source records: their
    # events are re-derived, the others' are not
    changed = main_build.query(
        "select count(*) from marts.fct_order_status_events as e"
        " where (e.source_system, e.source_record_key) in (values"
        " ('erp', '1000004'), ('wms', '4'), ('wms', '6'), ('tms', %s), ('tms', %s),"
        " ('tms', %s), ('tms', %s))",
        trk(1),
        trk(4),
        trk(5),
        trk(6),
    )[0][0]
    total = main_build.query("select count(*) from marts.fct_order_status_events")[0][0]
    assert second.rows_written("fct_order_status_events") == changed < total
    # per-order marts rebuild the orders of those records: 1, 2, 4, 5 and 6
    assert second.rows_written("fct_order_current_status") == 5
    # nothing new: no event, step or status is written again; the exceptions of open
    # orders are re-checked against the clock (1000008 shipped unpaid, 1000009 stuck)
    for model in ("fct_order_status_events", "fct_order_timeline", "fct_order_current_status"):
        assert idle.rows_written(model) == 0, model
    assert idle.rows_written("fct_order_exceptions") == 2


def test_a_changed_model_rebuilds_its_table_on_the_next_incremental_build(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    # a model's SQL is part of its inputs: after an upgrade changes it, the next ordinary
    # build re-derives that table in full (no --full-refresh by hand); the events before
    # it stay, the per-order marts after it rebuild every order it re-derived
    project = copy_of_project(tmp_path)
    with (project / "models" / "marts" / "fct_order_timeline.sql").open("a") as handle:
        handle.write("\n-- changed by an upgrade\n")
    with database(pg_server, template=main_build.url) as url:
        # (the flow's build: the unit tests, which read no data, run in main_build)
        upgraded = build(url, tmp_path, *FLOW_BUILD_EXCLUDES, project=project)
        assert upgraded.success, upgraded.not_passing()
        steps = upgraded.query("select count(*) from marts.fct_order_timeline")[0][0]
        assert upgraded.rows_written("fct_order_timeline") == steps > 0
        assert upgraded.rows_written("fct_order_status_events") == 0
        orders = upgraded.query("select count(*) from marts.fct_order_current_status")[0][0]
        assert upgraded.rows_written("fct_order_current_status") == orders > 0
        exceptions = upgraded.query("select count(*) from marts.fct_order_exceptions")[0][0]
        assert upgraded.rows_written("fct_order_exceptions") == exceptions > 0
        # the same rows; the rebuilt table's fingerprint names the new SQL
        assert upgraded.tables(leave_out=("inputs_version",)) == main_build.tables(
            leave_out=("inputs_version",)
        )
        old, new = (
            b.query("select distinct inputs_version from marts.fct_order_timeline")
            for b in (main_build, upgraded)
        )
        assert len(old) == len(new) == 1 and old != new


def test_full_refresh_after_a_seed_change_changes_nothing(remapped: Remapped) -> None:
    assert remapped.refreshed.success, remapped.refreshed.not_passing()
    refreshed = remapped.refreshed.tables()
    for table in MART_TABLES:  # dim_status_crosswalk_versions included: full_refresh=false
        assert refreshed[table] == remapped.tables[table], table


def test_a_changed_exception_rule_rebuilds_the_exceptions(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    # an ephemeral rule model is compiled into fct_order_exceptions, so it is part of that
    # mart's own SQL: changing it re-derives every exception on the next build
    project = copy_of_project(tmp_path)
    rule = project / "models" / "intermediate" / "exceptions" / "int_order_exceptions__misroute.sql"
    with rule.open("a") as handle:
        handle.write("\n-- changed by an upgrade\n")
    with database(pg_server, template=main_build.url) as url:
        upgraded = build(url, tmp_path, "--select", "fct_order_exceptions", project=project)
        assert upgraded.success, upgraded.not_passing()
        exceptions = upgraded.query("select count(*) from marts.fct_order_exceptions")[0][0]
        # (an idle build rewrites only the open orders' two)
        assert upgraded.rows_written("fct_order_exceptions") == exceptions > 2
        assert upgraded.tables(leave_out=("inputs_version",)) == main_build.tables(
            leave_out=("inputs_version",)
        )
