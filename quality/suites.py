"""Expectation suites, declared as data: which table, which expectations.

Each suite is a small, versioned description; its hash (over the canonical JSON
of the description) is the suite version recorded in provenance events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from orderhub.canonical_model import CANONICAL_STATUSES, EXCEPTION_TYPES
from orderhub.sources import SOURCE_SYSTEMS


@dataclass(frozen=True)
class Expectation:
    """One Great Expectations expectation: its class name and its arguments."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A named list of expectations on one warehouse table."""

    name: str
    schema: str
    table: str
    expectations: tuple[Expectation, ...]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schema": self.schema,
            "table": self.table,
            "expectations": [{"type": e.type, "kwargs": e.kwargs} for e in self.expectations],
        }

    @property
    def version(self) -> str:
        """Hex SHA-256 of the suite's sorted-key JSON description."""
        text = json.dumps(self.describe(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def row_count_at_least(minimum: int) -> Expectation:
    """The table has at least ``minimum`` rows."""
    return Expectation("ExpectTableRowCountToBeBetween", {"min_value": minimum})


def not_null(column: str) -> Expectation:
    """No value of ``column`` is null."""
    return Expectation("ExpectColumnValuesToNotBeNull", {"column": column})


def unique(column: str) -> Expectation:
    """No two rows share a value of ``column``."""
    return Expectation("ExpectColumnValuesToBeUnique", {"column": column})


def in_set(column: str, values: Iterable[str]) -> Expectation:
    """Every value of ``column`` is one of ``values``."""
    return Expectation("ExpectColumnValuesToBeInSet", {"column": column, "value_set": list(values)})


def between(column: str, low: int, high: int) -> Expectation:
    """Every value of ``column`` lies in ``[low, high]``."""
    return Expectation(
        "ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high}
    )


#: what an event's id is derived from (dbt_project/README.md, "The canonical model")
EVENT_IDENTITY = ("source_system", "source_record_key", "source_field", "source_code", "event_time")

CANONICAL_EVENTS = Suite(
    name="canonical_events",
    schema="marts",
    table="fct_order_status_events",
    expectations=(
        row_count_at_least(1),
        not_null("event_id"),
        unique("event_id"),
        # the same event twice under another id: what event_id is derived from, repeated
        Expectation(
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": list(EVENT_IDENTITY)},
        ),
        not_null("order_id"),
        not_null("event_time"),
        not_null("crosswalk_version"),
        Expectation(
            "ExpectColumnUniqueValueCountToBeBetween",
            {"column": "crosswalk_version", "min_value": 1, "max_value": 1},
        ),
        in_set("source_system", SOURCE_SYSTEMS),
        in_set("canonical_status", CANONICAL_STATUSES),
        between("lifecycle_rank", 0, 100),
    ),
)

CURRENT_STATUS = Suite(
    name="current_status",
    schema="marts",
    table="fct_order_current_status",
    expectations=(
        row_count_at_least(1),
        unique("order_id"),
        not_null("canonical_status"),
        in_set("canonical_status", CANONICAL_STATUSES),
        not_null("updated_at"),
    ),
)

ORDER_EXCEPTIONS = Suite(
    name="order_exceptions",
    schema="marts",
    table="fct_order_exceptions",
    expectations=(
        not_null("exception_id"),
        unique("exception_id"),
        not_null("order_id"),
        not_null("detected_since"),
        in_set("exception_type", EXCEPTION_TYPES),
        in_set("severity", ("error", "warning")),
    ),
)

DAILY_DEMAND = Suite(
    name="daily_demand",
    schema="marts",
    table="fct_daily_demand",
    expectations=(
        not_null("demand_date"),
        between("units", 0, 10**9),
        between("returned_units", 0, 10**9),
    ),
)

SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (CANONICAL_EVENTS, CURRENT_STATUS, ORDER_EXCEPTIONS, DAILY_DEMAND)
}
