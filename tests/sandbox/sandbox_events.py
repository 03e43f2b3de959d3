"""Test helper: read the sandbox's records the way the dbt project does.

Each record becomes status events (ERP: three status fields at LastChangeDateTime; CRM:
Status at LastModifiedDate; WMS: <type>.state at write_date; TMS: every tracking detail
at its datetime), mapped through the crosswalk seed; an order's current status is its
last event, ties broken by source precedence (the authority first), then lifecycle rank.
The sandbox itself never reads the crosswalk: this is the independent check.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CROSSWALK = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "status_crosswalk.csv"
#: docs/sources.md: ties go to tms, wms, crm, erp; the ERP on cancellation, the carrier on
#: delivery (each system's authority beats every other system at equal time).
PRECEDENCE = {"tms": 1, "wms": 2, "crm": 3, "erp": 4}
AUTHORITY = {"erp": "cancelled", "tms": "delivered"}


@dataclass(frozen=True)
class Event:
    order_id: str
    system: str
    field: str
    code: str
    at: str
    status: str
    rank: int
    terminal: bool

    @property
    def precedence(self) -> int:
        return 0 if AUTHORITY.get(self.system) == self.status else PRECEDENCE[self.system]


def load_crosswalk() -> dict[tuple[str, str, str], tuple[str, int, bool]]:
    with CROSSWALK.open(newline="") as handle:
        return {
            (row["source_system"], row["source_field"], row["source_code"]): (
                row["canonical_status"],
                int(row["lifecycle_rank"]),
                row["is_terminal"] == "true",
            )
            for row in csv.DictReader(handle)
        }


def _observations(records: Mapping[str, Iterable[Mapping[str, Any]]]) -> Iterable[tuple]:
    for r in records.get("erp", ()):
        at = r["LastChangeDateTime"]
        yield r["SalesOrder"], "erp", "OverallSDProcessStatus", r["OverallSDProcessStatus"], at
        delivery = r["OverallTotalDeliveryStatus"] or "BLANK"
        yield r["SalesOrder"], "erp", "OverallTotalDeliveryStatus", delivery, at
        rejection = r["OverallSDDocumentRejectionSts"]
        yield r["SalesOrder"], "erp", "OverallSDDocumentRejectionSts", rejection, at
    for r in records.get("crm", ()):
        order = r["OrderSummary"]["OrderNumber"]
        yield order, "crm", "FulfillmentOrder.Status", r["Status"], r["LastModifiedDate"]
    for r in records.get("wms", ()):
        yield r["origin"], "wms", f"{r['picking_type_code']}.state", r["state"], r["write_date"]
    for r in records.get("tms", ()):
        for detail in r["tracking_details"]:
            yield r["reference"], "tms", "tracker.status", detail["status"], detail["datetime"]


def events_by_order(
    records: Mapping[str, Iterable[Mapping[str, Any]]],
) -> dict[str, list[Event]]:
    """Every mapped event per order; an unmapped code fails the test."""
    crosswalk = load_crosswalk()
    events: dict[str, list[Event]] = defaultdict(list)
    for order, system, field, code, at in _observations(records):
        mapped = crosswalk.get((system, field, code))
        assert mapped is not None, (
            f"order {order}: {system} {field} {code!r} is not in the crosswalk"
        )
        events[order].append(Event(order, system, field, code, at, *mapped))
    return dict(events)


def current_event(events: Iterable[Event]) -> Event:
    """The event that decides the order's status (fct_order_current_status)."""
    return max(events, key=lambda e: (e.at, -e.precedence, e.rank))
