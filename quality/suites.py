"""Expectation suites, declared as data: which table, which expectations.

Each suite is a small, versioned description; its hash (over the canonical JSON
of the description) is the suite version recorded in provenance events.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from orderhub.canonical_model import CANONICAL_STATUSES
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


CANONICAL_EVENTS = Suite(
    name="canonical_events",
    schema="marts",
    table="fct_order_status_events",
    expectations=(
        Expectation("ExpectTableRowCountToBeBetween", {"min_value": 1}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "event_id"}),
        Expectation("ExpectColumnValuesToBeUnique", {"column": "event_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "order_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "event_time"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "crosswalk_version"}),
        Expectation(
            "ExpectColumnUniqueValueCountToBeBetween",
            {"column": "crosswalk_version", "min_value": 1, "max_value": 1},
        ),
        Expectation(
            "ExpectColumnValuesToBeInSet",
            {"column": "source_system", "value_set": list(SOURCE_SYSTEMS)},
        ),
        Expectation(
            "ExpectColumnValuesToBeInSet",
            {"column": "canonical_status", "value_set": list(CANONICAL_STATUSES)},
        ),
        Expectation(
            "ExpectColumnValuesToBeBetween",
            {"column": "lifecycle_rank", "min_value": 0, "max_value": 100},
        ),
    ),
)

CURRENT_STATUS = Suite(
    name="current_status",
    schema="marts",
    table="fct_order_current_status",
    expectations=(
        Expectation("ExpectTableRowCountToBeBetween", {"min_value": 1}),
        Expectation("ExpectColumnValuesToBeUnique", {"column": "order_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "canonical_status"}),
        Expectation(
            "ExpectColumnValuesToBeInSet",
            {"column": "canonical_status", "value_set": list(CANONICAL_STATUSES)},
        ),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "updated_at"}),
    ),
)

EXCEPTION_TYPES: tuple[str, ...] = (
    "unmapped_status_code",
    "terminal_conflict",
    "regression_after_terminal",
    "misroute",
    "shipped_before_payment",
    "stuck_beyond_sla",
)

ORDER_EXCEPTIONS = Suite(
    name="order_exceptions",
    schema="marts",
    table="fct_order_exceptions",
    expectations=(
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "exception_id"}),
        Expectation("ExpectColumnValuesToBeUnique", {"column": "exception_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "order_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "detected_since"}),
        Expectation(
            "ExpectColumnValuesToBeInSet",
            {"column": "exception_type", "value_set": list(EXCEPTION_TYPES)},
        ),
        Expectation(
            "ExpectColumnValuesToBeInSet",
            {"column": "severity", "value_set": ["error", "warning"]},
        ),
    ),
)

SUITES: dict[str, Suite] = {
    suite.name: suite for suite in (CANONICAL_EVENTS, CURRENT_STATUS, ORDER_EXCEPTIONS)
}
