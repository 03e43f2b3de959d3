"""Test helper: compare what the api serves with the messy scenario's ground truth.

:func:`differences` reads the four views the truth covers through ``fetch(view, columns)``
- PostgREST in the end-to-end test, SQL on the ``api`` schema in the dbt tests - turns
each row into the truth's row type and returns one line per row that is served but not
expected, or expected but not served (empty when they are exactly equal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sandbox.messy import (
    ExceptionTruth,
    MessyScenario,
    OrderTruth,
    ShipmentTruth,
    StepTruth,
)

Fetch = Callable[[str, tuple[str, ...]], Iterable[Mapping[str, Any]]]

#: view → the columns the truth compares, in the truth row's field order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "canonical_status", "is_orphan"),
    "order_timeline": (
        "order_id",
        "event_time",
        "source_system",
        "source_code",
        "shipment_id",
        "decides_status",
        "is_regression",
        "is_clock_skewed",
    ),
    "order_exceptions": ("order_id", "exception_type", "systems"),
    "shipments": ("shipment_id", "order_id", "canonical_status", "direction", "partner_id"),
}


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def served(fetch: Fetch) -> dict[str, set[Any]]:
    """The four views as truth rows."""
    rows = {view: list(fetch(view, columns)) for view, columns in COLUMNS.items()}
    return {
        "orders": {
            OrderTruth(r["order_id"], r["canonical_status"], r["is_orphan"]) for r in rows["orders"]
        },
        "order_timeline": {
            StepTruth(
                r["order_id"],
                _instant(r["event_time"]),
                r["source_system"],
                r["source_code"],
                r["shipment_id"],
                r["decides_status"],
                r["is_regression"],
                r["is_clock_skewed"],
            )
            for r in rows["order_timeline"]
        },
        "order_exceptions": {
            ExceptionTruth(r["order_id"], r["exception_type"], tuple(sorted(r["systems"])))
            for r in rows["order_exceptions"]
        },
        "shipments": {
            ShipmentTruth(
                r["shipment_id"],
                r["order_id"],
                r["canonical_status"],
                r["direction"],
                r["partner_id"],
            )
            for r in rows["shipments"]
        },
    }


def expected(scenario: MessyScenario, round_number: int) -> dict[str, set[Any]]:
    """The four views as the scenario says they must be after ``round_number``."""
    return {
        "orders": scenario.expected_orders(round_number),
        "order_timeline": scenario.expected_timeline(round_number),
        "order_exceptions": scenario.expected_exceptions(round_number),
        "shipments": scenario.expected_shipments(round_number),
    }


def differences(scenario: MessyScenario, round_number: int, fetch: Fetch) -> list[str]:
    """One line per row served but not expected (``+``) or expected but not served (``-``),
    view by view, sorted; empty when the api serves exactly the ground truth."""
    found = served(fetch)
    lines = []
    for view, wanted in expected(scenario, round_number).items():
        got = found[view]
        lines += [f"{view} - {row}" for row in sorted(wanted - got, key=repr)]
        lines += [f"{view} + {row}" for row in sorted(got - wanted, key=repr)]
    return lines


__all__ = ["COLUMNS", "differences", "expected", "served"]
