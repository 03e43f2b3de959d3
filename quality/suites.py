"""Expectation suites, declared as data: which table, which expectations, and which rows
a build's validation reads.

Each suite is a small, versioned description; its hash (over the canonical JSON
of the description) is the suite version recorded in provenance events. A suite on a
mart that keeps its rows between builds may declare a :class:`Narrowing`: a build then
validates the rows written since the suite last passed on that table
(:mod:`quality.new_rows`).
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


#: Expectations each row meets on its own: narrowed to the rows stamped after the mark.
PER_ROW = frozenset(
    {
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeInSet",
        "ExpectColumnValuesToBeBetween",
    }
)
#: Expectations about rows against each other: narrowed to every row that shares the
#: compared value with a row stamped after the mark, so a new row repeating an older one is
#: seen. Any other expectation (a count, the distinct values, anything not listed) reads
#: the whole table.
BETWEEN_ROWS = frozenset({"ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"})


@dataclass(frozen=True)
class Narrowing:
    """How a build's validation of a mart that keeps its rows reads only what is new.

    ``stamp``: the column every row carries with the time it was (re)written (``built_at``);
    ``record_key``: columns that every compound key checked for uniqueness includes (the
    source record), so the rows of the records with a new row hold every row that could
    repeat a new one. What each expectation reads: :data:`PER_ROW` the rows stamped after
    the mark (or with no stamp); a single column's uniqueness every row with a value a new
    row has; a compound key's every row of the records with a new row (the whole table
    when the key does not include ``record_key``); anything else the whole table.
    """

    stamp: str
    record_key: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        return {
            "stamp": self.stamp,
            "record_key": list(self.record_key),
            "per_row": sorted(PER_ROW),
            "between_rows": sorted(BETWEEN_ROWS),
        }


@dataclass(frozen=True)
class Suite:
    """A named list of expectations on one warehouse table."""

    name: str
    schema: str
    table: str
    expectations: tuple[Expectation, ...]
    narrowing: Narrowing | None = None

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {
            "name": self.name,
            "schema": self.schema,
            "table": self.table,
            "expectations": [{"type": e.type, "kwargs": e.kwargs} for e in self.expectations],
        }
        if self.narrowing is not None:
            description["narrowing"] = self.narrowing.describe()
        return description

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
    # an event's identity includes its source record: the rows of the records with a new
    # row hold every row that could repeat one (whether the record's older events were
    # re-derived with it, as by a build, or kept, as by the hot path's new tracker versions)
    narrowing=Narrowing(stamp="built_at", record_key=EVENT_IDENTITY[:2]),
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
