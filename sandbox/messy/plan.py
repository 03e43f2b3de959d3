"""The messy scenario's plan: source records as versions per round, and what they mean.

A :class:`Plan` collects the records of hand-written cases. Each record is planned as
versions, each served from one round on (the sandbox serves round 1, then moves the world
on when asked, so every round is one more sync): a snapshot system (ERP, CRM, WMS) shows
one state per round, a tracker its tracking details so far. A version returns the
:class:`Fact` s it adds - the status observations that become events of the canonical
model - and the case says, per order and from a round on, what the canonical model must
make of them (:meth:`Plan.expect`): the order's status, the fact that decides it, its
exceptions and its shipments. Nothing here reads the crosswalk or the model: the case's
author wrote what each code means and what each rule must conclude.

Times are hours relative to the scenario's ``as_of`` (negative: before it); round 1 shows
versions written up to :data:`ROUND_ENDS` [0] hours, round 2 up to [1], round 3 up to
``as_of`` - so every system's cursor only moves forward from one round to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import HUBS, PLACES, WAREHOUSES, Place
from sandbox.clock import parse_instant
from sandbox.shapes import Line, SalesOrderHead

HOUR = 3600
#: The last hour (relative to as_of) each round's versions may be written in.
ROUND_ENDS: tuple[float, ...] = (-3.0, -1.0, 0.0)
ROUNDS = len(ROUND_ENDS)

HAMBURG = PLACES["NORTH"][0]
KASSEL = WAREHOUSES["WH1"].place
COLOGNE, LEIPZIG = HUBS[0], HUBS[1]


@dataclass(frozen=True)
class Fact:
    """One status observation a record version carries: an event of the canonical model.

    ``code`` is what the timeline shows as ``source_code`` (as sent; an empty SAP status is
    ``BLANK``). ``mapped`` False: a code no crosswalk knows (never in the timeline);
    ``skewed``: its time is far from when it was extracted; ``regression``: it goes back
    after a terminal status of its shipment.
    """

    system: str
    record_key: str
    field: str
    code: str
    at: int
    round: int
    mapped: bool = True
    skewed: bool = False
    regression: bool = False


@dataclass
class RecordPlan:
    """A source record planned as versions: (round, cursor, order reference, payload)."""

    system: str
    key: str
    versions: list[tuple[int, int, str | None, dict[str, Any]]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    #: round → the shipment its facts belong to from that round on (WMS and TMS records).
    shipments: dict[int, str] = field(default_factory=dict)

    def _add(self, round_number: int, cursor: int, ref: str | None, payload: dict) -> None:
        if not 1 <= round_number <= ROUNDS:
            raise ValueError(f"{self.system} {self.key}: no round {round_number}")
        if self.versions and self.versions[-1][0] >= round_number:
            raise ValueError(f"{self.system} {self.key}: one version per round, in order")
        self.versions.append((round_number, cursor, ref, payload))

    def version_at(self, round_number: int) -> tuple[int, int, str | None, dict] | None:
        """The version served in ``round_number`` (None before the record exists)."""
        seen = [v for v in self.versions if v[0] <= round_number]
        return seen[-1] if seen else None

    def shipment_at(self, round_number: int) -> str | None:
        found = [sid for start, sid in sorted(self.shipments.items()) if start <= round_number]
        return found[-1] if found else None


@dataclass(frozen=True)
class Expectation:
    """What the canonical model must make of one order, from ``from_round`` on."""

    order_id: str
    from_round: int
    status: str
    deciding: Fact
    orphan: bool
    exceptions: tuple[tuple[str, tuple[str, ...]], ...]
    shipments: tuple[tuple[str, str, str, str], ...]


class Plan:
    """The records and expectations of the messy cases, relative to ``as_of``."""

    def __init__(self, as_of: int) -> None:
        self.as_of = as_of
        self.records: list[RecordPlan] = []
        self.heads: dict[str, Any] = {}
        self.expectations: list[Expectation] = []
        #: (case name, class, what it shows), in the order the cases were planned.
        self.cases: list[tuple[str, str, str]] = []

    def at(self, hours: float) -> int:
        """Epoch seconds ``hours`` from as_of."""
        return self.as_of + round(hours * HOUR)

    def case(self, name: str, kind: str, what: str) -> None:
        """Name the case whose records and expectations follow."""
        self.cases.append((name, kind, what))

    def _record(self, system: str, key: str, head: Any) -> RecordPlan:
        record = RecordPlan(system, key)
        self.records.append(record)
        self.heads[f"{system}:{key}"] = head
        return record

    # ------------------------------------------------------------------ erp

    def sales_order(
        self,
        order_id: str,
        first_change: float,
        *,
        channel: str = "store",
        ship_to: Place = HAMBURG,
    ) -> SalesOrderPlan:
        """An ERP sales order of one line, first changed ``first_change`` hours from as_of.

        Its orders are created on days spread over the four months before as_of (and
        before their first change), so its demand history is long enough to forecast.
        """
        spread = -24 * (14 + 3 * sum(1 for r in self.records if r.system == "erp"))
        head = SalesOrderHead(
            order_id=order_id,
            channel=channel,
            customer=f"C9{order_id[-4:]}",
            store="S01",
            region="NORTH",
            ship_to=ship_to,
            created=self.at(min(first_change - 1, spread)),
            lines=(Line("10", "SKU-001", 1, 1999),),
        )
        return SalesOrderPlan(self, self._record("erp", order_id, head))

    # ------------------------------------------------------------------ crm

    def fulfillment(self, number: int, warehouse: str = "WH1") -> FulfillmentPlan:
        """A Salesforce fulfillment order (FO-<number>) from ``warehouse``."""
        head = {"number": number, "warehouse": warehouse}
        return FulfillmentPlan(self, self._record("crm", f"fo:{number}", head))

    # ------------------------------------------------------------------ wms

    def delivery(
        self, picking_id: int, group: str | None, *, warehouse: str = "WH1"
    ) -> DeliveryPlan:
        """An Odoo delivery order (OUT picking) of procurement group ``group`` (None: none)."""
        head = {"picking_id": picking_id, "group": group, "warehouse": warehouse}
        record = self._record("wms", str(picking_id), head)
        return DeliveryPlan(self, record, group, warehouse)

    # ------------------------------------------------------------------ tms

    def tracker(self, number: int, carrier: str = "UPS") -> TrackerPlan:
        """An EasyPost tracker (``trk_`` + number in hex)."""
        tracker_id = f"trk_{number:032x}"
        code = f"1Z{number:016d}"
        return TrackerPlan(self, self._record("tms", tracker_id, (tracker_id, code, carrier)))

    # ------------------------------------------------------------------ truth

    def expect(
        self,
        order_id: str,
        status: str,
        deciding: Fact | None,
        *,
        from_round: int = 1,
        orphan: bool = False,
        exceptions: tuple[tuple[str, str], ...] = (),
        shipments: tuple[tuple[str, str, str, str], ...] = (),
    ) -> None:
        """From ``from_round`` on: ``order_id`` is ``status``, decided by ``deciding``;
        ``exceptions`` as (type, systems separated by "+"), ``shipments`` as
        (shipment id, status, direction, partner)."""
        if deciding is None:
            raise ValueError(f"{order_id}: the deciding fact must be one the plan made")
        self.expectations.append(
            Expectation(
                order_id,
                from_round,
                status,
                deciding,
                orphan,
                tuple(sorted((kind, tuple(sorted(s.split("+")))) for kind, s in exceptions)),
                tuple(sorted(shipments)),
            )
        )


class SalesOrderPlan:
    """The versions of one ERP sales order; each returns the facts it adds by field."""

    FIELDS = (
        "OverallSDProcessStatus",
        "OverallTotalDeliveryStatus",
        "OverallSDDocumentRejectionSts",
    )

    def __init__(self, plan: Plan, record: RecordPlan) -> None:
        self.plan, self.record = plan, record
        self.order_id = record.key

    def version(
        self, round_number: int, hours: float, process: str, delivery: str, rejection: str
    ) -> dict[str, Fact]:
        """The order as changed ``hours`` from as_of; the facts of the fields that changed,
        by field (an empty SAP status is shown as ``BLANK``)."""
        at = self.plan.at(hours)
        before = self.record.versions[-1][3] if self.record.versions else {}
        codes = dict(zip(self.FIELDS, (process, delivery, rejection), strict=True))
        self.record._add(round_number, at, self.order_id, codes)
        added = {}
        for name, code in codes.items():
            if before.get(name) != code:
                fact = Fact("erp", self.order_id, name, code or "BLANK", at, round_number)
                self.record.facts.append(fact)
                added[name] = fact
        return added


class FulfillmentPlan:
    """The versions of one CRM fulfillment order."""

    def __init__(self, plan: Plan, record: RecordPlan) -> None:
        self.plan, self.record = plan, record

    def version(self, round_number: int, hours: float, ref: str | None, status: str) -> Fact | None:
        """Status ``status`` for order ``ref`` (None: no OrderSummary) from ``hours``."""
        at = self.plan.at(hours)
        before = self.record.versions[-1][3] if self.record.versions else {}
        self.record._add(
            round_number, at, ref, {"Status": status, "created": before.get("created", at)}
        )
        if before.get("Status") == status:
            return None
        fact = Fact("crm", self.record.key, "FulfillmentOrder.Status", status, at, round_number)
        self.record.facts.append(fact)
        return fact


class DeliveryPlan:
    """The versions of one WMS delivery order (OUT picking)."""

    def __init__(self, plan: Plan, record: RecordPlan, group: str | None, warehouse: str) -> None:
        self.plan, self.record, self.warehouse = plan, record, warehouse
        self.group = group

    def version(
        self,
        round_number: int,
        hours: float,
        ref: str | None,
        state: str,
        *,
        tracking_ref: str | None = None,
        regression: bool = False,
    ) -> Fact | None:
        """State ``state`` for origin ``ref`` (None: Odoo's false) written ``hours`` from
        as_of, naming the carrier's ``tracking_ref`` once a label was bought."""
        at = self.plan.at(hours)
        before = self.record.versions[-1][3] if self.record.versions else {}
        payload = {
            "state": state,
            "tracking_ref": tracking_ref,
            "created": before.get("created", at),
        }
        self.record._add(round_number, at, ref, payload)
        if before.get("state") == state:
            return None
        fact = Fact(
            "wms", self.record.key, "OUT.state", state, at, round_number, regression=regression
        )
        self.record.facts.append(fact)
        return fact

    @property
    def shipment_id(self) -> str:
        """The shipment this delivery is: its procurement group, else its origin's order."""
        if self.group is not None:
            return f"wms:{self.group}"
        first_ref = next(ref for _, _, ref, _ in self.record.versions if ref is not None)
        return f"wms:{first_ref}"


@dataclass(frozen=True)
class Detail:
    """A tracking detail: when (hours from as_of, or an ISO instant), status as sent,
    where, and what the plan knows of it."""

    at: float | str
    status: str
    place: Place
    skewed: bool = False
    regression: bool = False
    mapped: bool = True


class TrackerPlan:
    """The versions of one TMS tracker; each adds tracking details."""

    def __init__(self, plan: Plan, record: RecordPlan) -> None:
        self.plan, self.record = plan, record
        self.tracker_id, self.code, self.carrier = plan.heads[f"tms:{record.key}"]
        self.details: list[tuple[int, Detail]] = []

    def _epoch(self, detail: Detail) -> int:
        if isinstance(detail.at, str):
            return int(parse_instant(detail.at))
        return self.plan.at(detail.at)

    def version(
        self, round_number: int, updated: float, ref: str | None, *details: Detail
    ) -> list[Fact]:
        """The tracker as updated ``updated`` hours from as_of, for order ``ref`` (None: no
        reference), with ``details`` added; the facts they add, in order."""
        added = []
        for detail in details:
            at = self._epoch(detail)
            self.details.append((at, detail))
            fact = Fact(
                "tms",
                self.record.key,
                "tracker.status",
                detail.status,
                at,
                round_number,
                mapped=detail.mapped,
                skewed=detail.skewed,
                regression=detail.regression,
            )
            self.record.facts.append(fact)
            added.append(fact)
        self.record._add(round_number, self.plan.at(updated), ref, {"details": list(self.details)})
        return added

    @property
    def shipment_id(self) -> str:
        return f"tms:{self.tracker_id}"


__all__ = [
    "COLOGNE",
    "HAMBURG",
    "KASSEL",
    "LEIPZIG",
    "ROUNDS",
    "ROUND_ENDS",
    "Detail",
    "Expectation",
    "Fact",
    "Plan",
    "RecordPlan",
]
