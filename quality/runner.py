"""Run an expectation suite against the warehouse with Great Expectations 1.x.

An ephemeral GX context, a PostgreSQL data source on the warehouse URL, a
whole-table batch: the queries run in PostgreSQL, nothing is pulled into memory. With
``since`` (a suite with a :class:`~quality.suites.Narrowing`), the expectations read the
rows its narrowing names instead (query batches; :mod:`quality.new_rows` keeps the marks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quality.suites import PER_ROW, Expectation, Suite

logging.getLogger("great_expectations").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation."""

    type: str
    column: str | None
    success: bool
    unexpected_count: int | None
    partial_unexpected: list[Any]


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of a whole suite."""

    suite: str
    suite_version: str
    table: str
    success: bool
    expectations: tuple[ExpectationOutcome, ...]
    #: the stamp after which the rows read were written (None: every row was read)
    rows_since: datetime | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def summary(self) -> str:
        """One line per failed expectation, naming table, column and what was wrong."""
        rows = "" if self.rows_since is None else f" (rows written after {self.rows_since})"
        if self.success:
            return (
                f"{self.suite}: all {len(self.expectations)} expectations met on {self.table}{rows}"
            )
        lines = [f"{self.suite}: {len(self.failures)} expectation(s) failed on {self.table}{rows}"]
        for failure in self.failures:
            where = f" column {failure.column}" if failure.column else ""
            sample = (
                f", e.g. {failure.partial_unexpected[:5]}" if failure.partial_unexpected else ""
            )
            count = (
                f": {failure.unexpected_count} unexpected value(s)"
                if failure.unexpected_count is not None
                else ""
            )
            lines.append(f"  - {failure.type}{where}{count}{sample}")
        return "\n".join(lines)


def _sqlalchemy_url(database_url: str, schema: str) -> str:
    """SQLAlchemy URL (psycopg 3 driver) whose search path starts at ``schema``."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            database_url = "postgresql+psycopg://" + database_url[len(prefix) :]
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options=-csearch_path%3D{schema}"


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _read_by(
    suite: Suite, schema: str, since: datetime | None, expectation: Expectation
) -> str | None:
    """The query ``expectation`` reads in a validation of the rows after ``since`` (None: the
    whole table; see :class:`~quality.suites.Narrowing`)."""
    narrowing = suite.narrowing
    if since is None or narrowing is None:
        return None
    if since.tzinfo is None:
        raise ValueError(f"validating {suite.name} since {since!r}: the time has no time zone")
    table = f"{_name(schema)}.{_name(suite.table)}"
    stamp = _name(narrowing.stamp)
    new = f"({stamp} > timestamptz '{since.isoformat()}' or {stamp} is null)"
    if expectation.type in PER_ROW:
        return f"select * from {table} where {new}"
    if expectation.type == "ExpectColumnValuesToBeUnique":
        compared: list[str] = [expectation.kwargs["column"]]
    elif expectation.type == "ExpectCompoundColumnsToBeUnique" and set(narrowing.record_key) <= set(
        expectation.kwargs["column_list"]
    ):
        compared = list(narrowing.record_key)
    else:
        return None
    key = ", ".join(map(_name, compared))
    return f"select * from {table} where ({key}) in (select {key} from {table} where {new})"


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    return ExpectationOutcome(
        type=type(config.to_domain_obj()).__name__ if config is not None else "unknown",
        column=(config.kwargs.get("column") if config else None),
        success=bool(result.success),
        unexpected_count=result.result.get("unexpected_count"),
        partial_unexpected=list(result.result.get("partial_unexpected_list") or []),
    )


def validate(
    database_url: str, suite: Suite, schema: str | None = None, since: datetime | None = None
) -> ValidationOutcome:
    """Validate ``suite``'s table in the warehouse and return the outcome; ``schema``: where
    the table is when not in the suite's schema (a build's colour, ``marts_green``);
    ``since``: read the rows the suite's narrowing names after that stamp (see the module)."""
    schema = schema or suite.schema
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_postgres(
        "warehouse", connection_string=_sqlalchemy_url(database_url, schema)
    )
    groups: dict[str | None, list[int]] = {}
    for n, expectation in enumerate(suite.expectations):
        groups.setdefault(_read_by(suite, schema, since, expectation), []).append(n)
    outcomes: list[ExpectationOutcome] = []
    for g, (query, members) in enumerate(groups.items()):
        if query is None:
            asset = source.add_table_asset(f"{suite.table}_{g}", table_name=suite.table)
        else:
            asset = source.add_query_asset(f"{suite.table}_{g}", query=query)
        batch = asset.add_batch_definition_whole_table(f"batch_{g}")
        gx_suite = context.suites.add(gx.ExpectationSuite(name=f"{suite.name}_{g}"))
        for n in members:
            expectation = suite.expectations[n]
            gx_suite.add_expectation(
                getattr(gx.expectations, expectation.type)(**expectation.kwargs)
            )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}-run-{g}", data=batch, suite=gx_suite)
        )
        result = definition.run(result_format="SUMMARY")
        outcomes.extend(map(_outcome, result.results))
    return ValidationOutcome(
        suite=suite.name,
        suite_version=suite.version,
        table=f"{schema}.{suite.table}",
        success=all(o.success for o in outcomes),
        expectations=tuple(outcomes),
        rows_since=since if suite.narrowing is not None else None,
    )
