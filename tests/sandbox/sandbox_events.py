"""Test helper: read the sandbox's records the way the dbt project does - independently.

Each record becomes status events (ERP: three SD status fields and the web shop's
financial status at LastChangeDateTime; CRM: Status at LastModifiedDate; WMS:
<type>.state at write_date; TMS: every tracking detail at its datetime), mapped through
the crosswalk seed. The rules of fct_order_timeline, fct_order_current_status and
fct_order_exceptions are re-implemented here in plain Python, from the README's words:

- an order's current status is its last lifecycle event (payment codes aside), ties
  broken by source precedence (the authority first), then lifecycle rank; a warehouse or
  carrier event later than a terminal one with a lower rank is a regression and never
  decides (the generated scenario ships every order in one parcel, so its shipment is the
  order's); an order the lifecycle calls placed whose last payment code is unpaid is
  payment_due;
- exceptions: unmapped codes, terminal statuses from different systems, regressions,
  deliveries in another country or region than the ship-to, web orders shipped while
  unpaid, and orders longer in a status than seeds/status_slas.csv allows at the
  extraction time (the scenario is extracted at its as_of).

The sandbox itself never reads the crosswalk or the SLAs: this is the independent check.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from sandbox.store import sortable

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
CROSSWALK = SEEDS / "status_crosswalk.csv"
#: docs/sources.md: ties go to tms, wms, crm, erp; the ERP on cancellation, the carrier on
#: delivery (each system's authority beats every other system at equal time).
PRECEDENCE = {"tms": 1, "wms": 2, "crm": 3, "erp": 4}
#: The systems whose events are physical movements (the others' are paperwork).
PHYSICAL = {"wms", "tms"}
AUTHORITY = {"erp": "cancelled", "tms": "delivered"}
SHIPPED = {"partially_fulfilled", "in_transit", "pickup_available", "delivered", "returned"}
CHANNELS = {"10": "web", "20": "store"}
FINANCIAL_FIELD = "YY1_ShopFinancialStatus_SDH"


@dataclass(frozen=True)
class Event:
    order_id: str
    system: str
    field: str
    code: str
    at: str
    status: str | None
    rank: int
    terminal: bool
    payment: str | None = None
    country: str | None = None
    region: str | None = None

    @property
    def mapped(self) -> bool:
        return self.status is not None

    @property
    def lifecycle(self) -> bool:
        return self.mapped and self.payment is None

    @property
    def precedence(self) -> int:
        return 0 if AUTHORITY.get(self.system) == self.status else PRECEDENCE[self.system]

    @property
    def key(self) -> tuple[str, int, int, str]:
        """Sort key: later, then the lower precedence, then the higher rank, is later."""
        return (self.at, -self.precedence, self.rank, self.field)


def load_crosswalk() -> dict[tuple[str, str, str], tuple[str, int, bool, str | None]]:
    with CROSSWALK.open(newline="") as handle:
        return {
            (row["source_system"], row["source_field"], row["source_code"]): (
                row["canonical_status"],
                int(row["lifecycle_rank"]),
                row["is_terminal"] == "true",
                row["payment_state"] or None,
            )
            for row in csv.DictReader(handle)
        }


def load_slas() -> dict[tuple[str, str], int]:
    with (SEEDS / "status_slas.csv").open(newline="") as handle:
        return {
            (row["canonical_status"], row["channel"]): int(row["sla_hours"])
            for row in csv.DictReader(handle)
        }


def _observations(records: Mapping[str, Iterable[Mapping[str, Any]]]) -> Iterable[tuple]:
    for r in records.get("erp", ()):
        at = sortable(r["LastChangeDateTime"])  # SAP's /Date(ms+0000)/ as ISO
        for field in (
            "OverallSDProcessStatus",
            "OverallTotalDeliveryStatus",
            "OverallSDDocumentRejectionSts",
        ):
            yield r["SalesOrder"], "erp", field, r[field] or "BLANK", at, None, None
        if r.get(FINANCIAL_FIELD):
            yield r["SalesOrder"], "erp", FINANCIAL_FIELD, r[FINANCIAL_FIELD], at, None, None
    for r in records.get("crm", ()):
        order = r["OrderSummary"]["OrderNumber"]
        yield (
            order,
            "crm",
            "FulfillmentOrder.Status",
            r["Status"],
            r["LastModifiedDate"],
            None,
            None,
        )
    for r in records.get("wms", ()):
        field = f"{r['picking_type_code']}.state"
        yield r["origin"], "wms", field, r["state"], sortable(r["write_date"]), None, None
    for r in records.get("tms", ()):
        for d in r["tracking_details"]:
            where = d["tracking_location"]
            yield (
                r["reference"],
                "tms",
                "tracker.status",
                d["status"],
                d["datetime"],
                where["country"],
                where["state"],
            )


def events_by_order(
    records: Mapping[str, Iterable[Mapping[str, Any]]],
) -> dict[str, list[Event]]:
    """Every event per order, mapped or not (an unmapped one has status None)."""
    crosswalk = load_crosswalk()
    events: dict[str, list[Event]] = defaultdict(list)
    for order, system, field, code, at, country, region in _observations(records):
        status, rank, terminal, payment = crosswalk.get(
            (system, field, code), (None, 0, False, None)
        )
        events[order].append(
            Event(order, system, field, code, at, status, rank, terminal, payment, country, region)
        )
    return dict(events)


def after_terminal(events: Iterable[Event]) -> list[Event]:
    """Lifecycle events later than a terminal lifecycle event with a higher rank: they never
    decide (regressions when physical, paperwork otherwise)."""
    lifecycle = [e for e in events if e.lifecycle]
    terminal = [e for e in lifecycle if e.terminal]
    return [
        e
        for e in lifecycle
        if not e.terminal and any(t.at < e.at and t.rank > e.rank for t in terminal)
    ]


def regressions(events: Iterable[Event]) -> list[Event]:
    """Physical movements later than a terminal lifecycle event with a higher rank."""
    return [e for e in after_terminal(events) if e.system in PHYSICAL]


def current_event(events: Iterable[Event]) -> Event:
    """The event that decides the order's status (fct_order_timeline.decides_status)."""
    events = list(events)
    regressed = set(after_terminal(events))
    lifecycle = [e for e in events if e.lifecycle and e not in regressed]
    payments = [e for e in events if e.mapped and e.payment is not None]
    decider = max(lifecycle, key=lambda e: e.key) if lifecycle else None
    last_payment = max(payments, key=lambda e: e.key) if payments else None
    unpaid = last_payment is not None and last_payment.payment == "unpaid"
    if unpaid and (decider is None or decider.status == "placed"):
        assert last_payment is not None
        return last_payment
    assert decider is not None
    return decider


def status_since(events: Iterable[Event], decider: Event) -> str:
    """When the order entered its status: the start of the last run of it on its axis."""
    events = list(events)
    regressed = set(after_terminal(events))
    if decider.payment is not None:
        axis = sorted(
            (e for e in events if e.mapped and e.payment is not None), key=lambda e: e.key
        )
        value = lambda e: e.payment  # noqa: E731
    else:
        axis = sorted(
            (e for e in events if e.lifecycle and e not in regressed), key=lambda e: e.key
        )
        value = lambda e: e.status  # noqa: E731
    since = axis[0].at
    for before, after in pairwise(axis):
        if value(after) != value(before):
            since = after.at
    return since


def _hours(later: str, earlier: str) -> float:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(later) - parse(earlier)).total_seconds() / 3600


def exceptions_by_order(
    records: Mapping[str, list[Mapping[str, Any]]], as_of: str
) -> dict[str, set[str]]:
    """Order id → the exception types fct_order_exceptions must hold for it, the records
    extracted at ``as_of`` (ISO, "2026-11-01T00:00:00Z")."""
    events = events_by_order(records)
    erp = {r["SalesOrder"]: r for r in records["erp"]}
    slas = load_slas()
    found: dict[str, set[str]] = defaultdict(set)
    for order, evs in events.items():
        if any(not e.mapped for e in evs):
            found[order].add("unmapped_status_code")
        terminal = [e for e in evs if e.lifecycle and e.terminal]
        if any(a.system != b.system and a.status != b.status for a in terminal for b in terminal):
            found[order].add("terminal_conflict")
        if regressions(evs):
            found[order].add("regression_after_terminal")
        ship_to = erp[order]
        for e in evs:
            if e.system == "tms" and e.status == "delivered" and e.country:
                other_country = e.country.upper() != ship_to["ShipToCountry"].upper()
                other_region = bool(e.region and ship_to["ShipToRegion"]) and (
                    e.region.upper() != ship_to["ShipToRegion"].upper()
                )
                if other_country or other_region:
                    found[order].add("misroute")
        channel = CHANNELS.get(ship_to["DistributionChannel"])
        shipments = sorted(
            (e for e in evs if e.lifecycle and e.status in SHIPPED), key=lambda e: e.key
        )
        payments = [e for e in evs if e.mapped and e.payment is not None]
        if channel == "web" and shipments and payments:
            shipped = shipments[0]
            before = [p for p in payments if p.at <= shipped.at]
            state = (
                max(before, key=lambda p: p.key).payment
                if before
                else min(payments, key=lambda p: p.key).payment
            )
            if state in ("unpaid", "voided"):
                found[order].add("shipped_before_payment")
        decider = current_event(evs)
        sla = slas.get((decider.status or "", channel or ""))
        if (
            not decider.terminal
            and sla is not None
            and _hours(as_of, status_since(evs, decider)) > sla
        ):
            found[order].add("stuck_beyond_sla")
    return dict(found)
