"""Building the dbt project for real in the tests: a scratch database with the raw tables
(optionally a copy of another), ``dbt build`` through dbtRunner in this process, and what
a build leaves behind (its results, its log lines, its mart tables).

A full parse of the project takes dbt 5-9 s, and a parse holds the database it was made
against (dbt parses afresh when the profile's database differs). So the scratch databases
of a test process are named by slot - the lowest number no live one holds - and a database
made after another was dropped takes its name; every dbt invocation starts from the parse
last made for its project, ``--vars`` and database (:func:`orderhub.dbt_parse.partial_parse`,
as the flow's), and dbt itself decides whether it still fits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dbt.cli.main import dbtRunner
from dbt_records import Batch, create_ml_and_ledger_tables, create_raw_tables, store_batch

from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orderhub.dbt_env import dbt_env
from orderhub.dbt_parse import partial_parse

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
#: the tables the canonical build writes, compared between full and incremental builds
MART_TABLES = (
    "fct_order_status_events",
    "fct_order_current_status",
    "fct_order_timeline",
    "fct_shipment_current_status",
    "fct_lane_transit_times",
    "fct_delivery_estimates",
    "fct_order_exceptions",
    "fct_order_tags",
    "fct_unmapped_status_codes",
    "fct_daily_demand",
    "dim_status_crosswalk_versions",
)
#: columns that say when a build ran, not what it derived
BUILD_STAMPS = {"built_at", "first_built_at"}

Tables = dict[str, tuple[list[str], list[str]]]

#: the scenario builds run the data tests on their data; the unit tests, which read no data,
#: run once, in main_build
WORLD_BUILD = FLOW_BUILD_EXCLUDES

#: the parses this test process made, per project, --vars and database
PARSES = Path(tempfile.mkdtemp(prefix="orderhub-test-parses-"))
atexit.register(shutil.rmtree, PARSES, ignore_errors=True)
#: the slots of this process's live scratch databases
_SLOTS: set[int] = set()


@dataclass
class Build:
    """One scenario's database after `dbt build`."""

    url: str
    success: bool
    results: dict[str, Any]  # node unique_id → RunResult
    log_lines: list[str]
    seconds: float

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()

    def status_of(self, name: str) -> str:
        matches = [r for uid, r in self.results.items() if uid.split(".")[-1] == name]
        assert len(matches) == 1, f"{name}: {sorted(self.results)}"
        return str(matches[0].status)

    def result_of(self, name: str) -> Any:
        """The result of the node (model or test) named ``name``."""
        (found,) = [r for r in self.results.values() if r.node.name == name]
        return found

    def rows_written(self, model: str) -> int:
        """Rows the model's run wrote (inserted by an incremental run, created by a full)."""
        return int(self.results[f"model.orderhub.{model}"].adapter_response["rows_affected"])

    def not_passing(self) -> dict[str, str]:
        return {
            uid: str(r.status)
            for uid, r in self.results.items()
            if str(r.status) not in ("success", "pass")
        }

    def tables(self, leave_out: tuple[str, ...] = ()) -> Tables:
        """Every mart table's columns and rows (sorted, build stamps and ``leave_out`` left
        out)."""
        found = {}
        with psycopg.connect(self.url) as conn:
            for table in MART_TABLES:
                columns = [
                    name
                    for (name,) in conn.execute(
                        "select column_name from information_schema.columns"
                        " where table_schema = 'marts' and table_name = %s order by column_name",
                        (table,),
                    )
                    if name not in BUILD_STAMPS and name not in leave_out
                ]
                rows = conn.execute(f"select {', '.join(columns)} from marts.{table}").fetchall()
                found[table] = (columns, sorted(map(repr, rows)))
        return found


@dataclass
class IncrementalBuilds:
    """The main records in two deliveries, built after each, then once more idle."""

    first: Build
    second: Build
    idle: Build
    tables_after_second: Tables
    after_first: str  # a copy of the database as the first build left it (a template)


@dataclass
class Remapped:
    """The unknown database rebuilt with a crosswalk that maps the code, then rebuilt
    with --full-refresh."""

    build: Build
    tables: Tables
    history: list[tuple[Any, ...]]  # dim_status_crosswalk_versions before the refresh
    refreshed: Build
    versions: tuple[str, str]  # (old, new) crosswalk version


def run_dbt(url: str, work: Path, *args: str, project: Path = PROJECT) -> tuple[Any, list[str]]:
    """Invoke dbt in this process with the warehouse URL's environment; target/ and logs/
    go under ``work``, never into the repository."""
    log_lines: list[str] = []

    def collect(event: Any) -> None:
        if event.info.name == "JinjaLogInfo":
            log_lines.append(event.data.msg)

    values = dbt_env(url)
    parse = partial_parse(PARSES, project, args, work / "target", values["ORDERHUB_PGDATABASE"])
    with pytest.MonkeyPatch.context() as env, parse:
        for key, value in values.items():
            env.setenv(key, value)
        result = dbtRunner(callbacks=[collect]).invoke(
            [
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
                "--no-use-colors",
            ]
        )
    return result, log_lines


def build(url: str, work: Path, *args: str, project: Path = PROJECT) -> Build:
    """`dbt build` (with ``args``) on the database at ``url``."""
    started = datetime.now(UTC)
    result, log_lines = run_dbt(url, work, "build", *args, project=project)
    seconds = (datetime.now(UTC) - started).total_seconds()
    assert result.exception is None, result.exception
    results = {r.node.unique_id: r for r in result.result.results}
    return Build(url, result.success, results, log_lines, seconds)


def load(url: str, batches: list[Batch]) -> None:
    with psycopg.connect(url) as conn:
        for batch in batches:
            store_batch(conn, batch)


@contextmanager
def database(pg_server: str, template: str | None = None) -> Iterator[str]:
    """A new database (a copy of ``template``'s when given, else with empty raw, ml and
    ledger tables), dropped afterwards. Named by this process and the lowest free slot
    (see the module)."""
    slot = min(set(range(len(_SLOTS) + 1)) - _SLOTS)
    _SLOTS.add(slot)
    name = f"dbt_{os.getpid()}_{slot}"
    url = f"{pg_server.rpartition('/')[0]}/{name}"
    try:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            # one left by an earlier process of the same id, on a server that outlived it
            conn.execute(f'drop database if exists "{name}" with (force)')
            if template is None:
                conn.execute(f'create database "{name}"')
            else:
                source = template.rpartition("/")[2]
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                    (source,),
                )
                conn.execute(f'create database "{name}" template "{source}"')
        if template is None:
            with psycopg.connect(url) as conn:
                create_raw_tables(conn)
                create_ml_and_ledger_tables(conn)
        yield url
    finally:
        try:
            with psycopg.connect(pg_server, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
        finally:
            _SLOTS.discard(slot)


def copy_of_project(work: Path) -> Path:
    """A copy of the dbt project under ``work``, to change a model or a seed in."""
    project = work / "dbt_project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    return project
