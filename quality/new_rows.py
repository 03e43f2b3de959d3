"""A build's validation of a mart that keeps its rows: the rows written since the suite last
passed there.

A suite with a :class:`~quality.suites.Narrowing` (the events mart's) keeps a mark per
table and suite version in ``orderhub_meta.validated_rows``: the latest stamp among the
rows it read in a validation that passed. :func:`validate_built` reads the stamp the
table holds now, validates the rows stamped after the mark (every row while there is
none: a new suite version, a new colour, a fresh warehouse), and moves the mark only when
every expectation was met, so a failed validation reads those rows again next time,
rebuilt or not. Each colour of the marts is its own table, so each has its own mark.

What is not read again: a row changed without a new stamp (by hand; the flow's writers,
dbt and the hot path, stamp every row they write), and a row of the live path whose
transaction began before the stamp read here and committed after the validation read
(the same hole as the dbt tests' marks, dbt_project/README.md).
:func:`quality.runner.validate` without ``since`` reads every row, whatever the marks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from orderhub.warehouse import apply_ddl
from quality.runner import ValidationOutcome, validate
from quality.suites import Suite

MARKS = """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.validated_rows (
    schema_name text not null,
    table_name text not null,
    suite_version text not null,
    validated_through timestamptz not null,
    primary key (schema_name, table_name, suite_version)
)
"""


def _ensure(conn: psycopg.Connection[Any]) -> None:
    apply_ddl(conn, "orderhub_meta.validated_rows", MARKS)


def mark_of(conn: psycopg.Connection[Any], schema: str, suite: Suite) -> datetime | None:
    """The stamp through which ``suite`` last passed on its table in ``schema``, or None."""
    row = conn.execute(
        "select validated_through from orderhub_meta.validated_rows"
        " where schema_name = %s and table_name = %s and suite_version = %s",
        (schema, suite.table, suite.version),
    ).fetchone()
    return None if row is None else row[0]


def _latest_stamp(conn: psycopg.Connection[Any], schema: str, suite: Suite) -> datetime | None:
    assert suite.narrowing is not None
    query = sql.SQL("select max({}) from {}").format(
        sql.Identifier(suite.narrowing.stamp), sql.Identifier(schema, suite.table)
    )
    row = conn.execute(query).fetchone()
    return None if row is None else row[0]


def validate_built(url: str, suite: Suite, schema: str) -> ValidationOutcome:
    """Validate ``suite`` on the table a build wrote in ``schema``: the new rows when the
    suite is narrowed, every row otherwise (see the module)."""
    if suite.narrowing is None:
        return validate(url, suite, schema)
    with psycopg.connect(url, autocommit=True) as conn:
        _ensure(conn)
        since = mark_of(conn, schema, suite)
        through = _latest_stamp(conn, schema, suite)
    outcome = validate(url, suite, schema, since=since)
    if outcome.success and through is not None and (since is None or through > since):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "insert into orderhub_meta.validated_rows values (%s, %s, %s, %s)"
                " on conflict (schema_name, table_name, suite_version)"
                " do update set validated_through = excluded.validated_through",
                (schema, suite.table, suite.version, through),
            )
    return outcome


__all__ = ["MARKS", "mark_of", "validate_built"]
