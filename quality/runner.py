"""Run an expectation suite against the warehouse with Great Expectations 1.x.

An ephemeral GX context, a PostgreSQL data source on the warehouse URL, a
whole-table batch: the queries run in PostgreSQL, nothing is pulled into memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from quality.suites import Suite

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

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def summary(self) -> str:
        """One line per failed expectation, naming table, column and what was wrong."""
        if self.success:
            return f"{self.suite}: all {len(self.expectations)} expectations met on {self.table}"
        lines = [f"{self.suite}: {len(self.failures)} expectation(s) failed on {self.table}"]
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


def validate(database_url: str, suite: Suite, schema: str | None = None) -> ValidationOutcome:
    """Validate ``suite``'s table in the warehouse and return the outcome; ``schema``: where
    the table is when not in the suite's schema (a build's colour, ``marts_green``)."""
    schema = schema or suite.schema
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_postgres(
        "warehouse", connection_string=_sqlalchemy_url(database_url, schema)
    )
    asset = source.add_table_asset(suite.table, table_name=suite.table)
    batch = asset.add_batch_definition_whole_table("whole_table")
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name))
    for expectation in suite.expectations:
        gx_suite.add_expectation(getattr(gx.expectations, expectation.type)(**expectation.kwargs))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name}-run", data=batch, suite=gx_suite)
    )
    result = definition.run(result_format="SUMMARY")
    outcomes = tuple(
        ExpectationOutcome(
            type=type(r.expectation_config.to_domain_obj()).__name__
            if r.expectation_config is not None
            else "unknown",
            column=(r.expectation_config.kwargs.get("column") if r.expectation_config else None),
            success=bool(r.success),
            unexpected_count=r.result.get("unexpected_count"),
            partial_unexpected=list(r.result.get("partial_unexpected_list") or []),
        )
        for r in result.results
    )
    return ValidationOutcome(
        suite=suite.name,
        suite_version=suite.version,
        table=f"{schema}.{suite.table}",
        success=bool(result.success),
        expectations=outcomes,
    )
