"""What the scenario is made of: orders, their lines, the steps of their lifecycle, stages.

An :class:`Order` carries everything the four systems know about it. Its ``steps`` are
the changes the systems saw, in strictly rising time; each system's record is the state
those steps left it in (see :mod:`sandbox.records`). An order may carry one
:class:`Anomaly` (:mod:`sandbox.anomalies`): something that went wrong in the
systems, with the exceptions the canonical model must report for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from orderhub.canonical_model import CANONICAL_STATUSES
from sandbox.catalog import Place
from sandbox.clock import from_epoch
from sandbox.shapes import Line as OrderLine

#: Where an order is in its life: the canonical statuses (``orderhub.canonical_model``) the
#: scenario plays out. Each stage is the canonical status it implies; the scenario never parks
#: an order in ``payment_due`` or ``partially_fulfilled`` (the crosswalk maps codes onto them
#: all the same).
STAGES: tuple[str, ...] = tuple(
    status for status in CANONICAL_STATUSES if status not in {"payment_due", "partially_fulfilled"}
)


class StepKind:
    """Names of the lifecycle steps, ``<system>.<what happened>`` (``cancel`` hits three)."""

    ERP_CREATED = "erp.created"
    CRM_DRAFT = "crm.draft"
    CRM_ALLOCATED = "crm.allocated"
    CRM_ASSIGNED = "crm.assigned"
    ERP_DELIVERY_DUE = "erp.delivery_due"
    WMS_CREATED = "wms.created"
    WMS_PICK_RESERVED = "wms.pick_reserved"
    WMS_PICK_WAITING_STOCK = "wms.pick_waiting_stock"
    CRM_PICKPACK = "crm.pickpack"
    CRM_PRINTED = "crm.printed"
    WMS_PICK_DONE = "wms.pick_done"
    CRM_PICK_COMPLETE = "crm.pick_complete"
    WMS_PACK_DONE = "wms.pack_done"
    TMS_LABEL = "tms.label"
    CRM_PACK_COMPLETE = "crm.pack_complete"
    WMS_OUT_DONE = "wms.out_done"
    ERP_GOODS_ISSUE = "erp.goods_issue"
    CRM_FULFILLED = "crm.fulfilled"
    TMS_IN_TRANSIT = "tms.in_transit"
    TMS_OUT_FOR_DELIVERY = "tms.out_for_delivery"
    TMS_AVAILABLE_FOR_PICKUP = "tms.available_for_pickup"
    TMS_DELIVERED = "tms.delivered"
    TMS_PICKED_UP = "tms.picked_up"
    TMS_FAILURE = "tms.failure"
    TMS_RETURN_TO_SENDER = "tms.return_to_sender"
    CANCEL = "cancel"


class Step(NamedTuple):
    """One change in an order's life: when (epoch seconds), what, and where (TMS only).

    ``where`` is ``"wh"`` (the shipping warehouse), ``"dest"`` (the ship-to place) or
    ``"hub:<n>"`` (a carrier hub of :data:`sandbox.catalog.HUBS`).
    """

    at: int
    kind: str
    where: str = ""


#: Anomaly kind → the exception types (fct_order_exceptions.exception_type) it causes.
#: A late-arriving earlier event causes none: it must simply not move the status.
ANOMALY_EXCEPTIONS: dict[str, frozenset[str]] = {
    "late_arrival": frozenset(),
    "terminal_conflict": frozenset({"terminal_conflict"}),
    "regression": frozenset({"regression_after_terminal"}),
    "misroute": frozenset({"misroute"}),
    "unpaid_shipment": frozenset({"shipped_before_payment"}),
    "stuck": frozenset({"stuck_beyond_sla"}),
    "unknown_code": frozenset({"unmapped_status_code"}),
}
#: The anomaly kinds, in the order the scenario assigns them.
ANOMALY_KINDS: tuple[str, ...] = tuple(ANOMALY_EXCEPTIONS)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something that went wrong with an order in the source systems.

    ``kind`` is one of :data:`ANOMALY_KINDS`:

    - ``late_arrival``: the carrier reports an earlier hub scan (at ``at``, in ``place``)
      only after the delivery, at ``reported_at``; it is appended last to the tracker;
    - ``terminal_conflict``: the ERP cancels the order (at ``at``) although the carrier
      goes on to deliver it;
    - ``regression``: the carrier scans the parcel in transit (at ``at``, in ``place``)
      after it was delivered;
    - ``misroute``: the parcel goes out for delivery and is delivered in ``place``, in
      another country than the ERP ship-to;
    - ``unpaid_shipment``: a web order ships while the web shop's payment is PENDING;
    - ``stuck``: an old order waits for stock ever since its pick was created (its steps
      end there; its stage is on_hold);
    - ``unknown_code``: the carrier sends a tracking detail (at ``at``, in ``place``) with
      a status no crosswalk knows, ``code``.
    """

    kind: str
    at: int = 0
    reported_at: int = 0
    place: Place | None = None
    code: str = ""

    @property
    def exceptions(self) -> frozenset[str]:
        """The exception types the canonical model must report for it."""
        return ANOMALY_EXCEPTIONS[self.kind]


@dataclass(frozen=True, slots=True)
class Order:
    """One order as the four systems know it, with the ids each system gave it."""

    order_id: str
    stage: str
    created_at: datetime
    store: str
    region: str
    customer: str
    customer_name: str
    channel: str
    ship_to_country: str
    ship_to_region: str
    ship_to_city: str
    ship_to_zip: str
    warehouse: str
    delivery_method: str
    carrier: str
    lines: tuple[OrderLine, ...]
    steps: tuple[Step, ...]
    #: Sequence number of the CRM fulfillment order (0 when the CRM has none).
    fulfillment_number: int
    #: Odoo ids of the PICK, PACK and OUT pickings (empty when the WMS has none).
    picking_ids: tuple[int, ...]
    #: Per-warehouse sequence numbers in the PICK, PACK and OUT picking names.
    picking_numbers: tuple[int, ...]
    tracker_id: str
    tracking_code: str
    signed_by: str | None
    #: What went wrong with the order, if anything.
    anomaly: Anomaly | None = None

    @property
    def created_ts(self) -> int:
        """Creation time in epoch seconds."""
        return self.steps[0].at

    @property
    def last_event_at(self) -> datetime:
        """Time of the order's last change in any system."""
        return from_epoch(self.steps[-1].at)

    @property
    def total_cents(self) -> int:
        """Net amount of all lines, in cents."""
        return sum(line.net_cents for line in self.lines)

    @property
    def expected_status(self) -> str:
        """The canonical status this order's stage implies (anomalies never change it)."""
        return self.stage

    @property
    def expected_exceptions(self) -> frozenset[str]:
        """The exception types its anomaly causes (none without one)."""
        return self.anomaly.exceptions if self.anomaly else frozenset()

    def step_kinds(self) -> tuple[str, ...]:
        """The kinds of the order's steps, in order."""
        return tuple(step.kind for step in self.steps)
