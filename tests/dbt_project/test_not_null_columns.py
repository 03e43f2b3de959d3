"""The project's ``not_null_columns`` test: one scan per model, a failing row per column
that holds nulls (its name and how many), and a column's ``where`` respected."""

from __future__ import annotations

from pathlib import Path

import psycopg
from dbt_builds import Build, database, run_dbt

TEST = "not_null_fct_order_status_events"


def _run(url: str, work: Path) -> tuple[str, int, list[tuple[str, int]]]:
    """The test's status and failures, and the rows its compiled query returns."""
    result, _ = run_dbt(url, work, "test", "--select", TEST)
    (node_result,) = [r for r in result.result.results if r.node.name == TEST]
    with psycopg.connect(url) as conn:
        rows = conn.execute(node_result.node.compiled_code).fetchall()
    return str(node_result.status), int(node_result.failures or 0), sorted(rows)


def test_nulls_fail_it_by_column_and_a_where_is_respected(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    with database(pg_server, template=main_build.url) as url:
        assert _run(url, tmp_path)[0] == "pass"
        with psycopg.connect(url) as conn:
            events = "marts.fct_order_status_events"
            conn.execute(
                f"update {events} set event_class = null where event_id in"
                f" (select event_id from {events} order by event_id limit 2)"
            )
            # canonical_status is required of mapped events only
            conn.execute(
                f"update {events} set canonical_status = null, is_mapped = false"
                f" where event_id = (select max(event_id) from {events})"
            )
        assert _run(url, tmp_path) == ("fail", 1, [("event_class", 2)])
        with psycopg.connect(url) as conn:
            conn.execute(
                f"update {events} set is_mapped = true"
                f" where event_id = (select max(event_id) from {events})"
            )
        assert _run(url, tmp_path) == ("fail", 2, [("canonical_status", 1), ("event_class", 2)])
