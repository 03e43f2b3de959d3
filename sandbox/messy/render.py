"""Render a planned record as the sandbox serves it in a round (shapes of docs/sources.md).

Codes go on the wire exactly as the plan wrote them (spaces, case and all); an order
reference the plan left out is sent the way each system sends nothing: no ``OrderSummary``
(CRM), Odoo's ``false`` (WMS ``origin``), a null ``reference`` (TMS).
"""

from __future__ import annotations

from typing import Any

from sandbox.clock import iso
from sandbox.messy.plan import HAMBURG, Detail, Plan, RecordPlan
from sandbox.shapes import (
    PickingHead,
    Record,
    TrackerHead,
    fulfillment_order,
    picking,
    sales_order,
    tracker,
    tracking_detail,
)

#: Tracking detail status (any case, any spacing) → EasyPost status_detail and message.
_DETAIL_WORDS: dict[str, tuple[str, str]] = {
    "pre_transit": ("label_created", "Shipping label created"),
    "in_transit": ("arrived_at_facility", "Arrived at a carrier facility"),
    "out_for_delivery": ("out_for_delivery", "Out for delivery"),
    "delivered": ("arrived_at_destination", "Delivered"),
    "arrived_at_facility": ("arrived_at_facility", "Arrived at a carrier facility"),
}


def render(plan: Plan, record: RecordPlan, round_number: int) -> Record | None:
    """The record as the sandbox serves it in ``round_number`` (None before it exists)."""
    version = record.version_at(round_number)
    if version is None:
        return None
    _, cursor, ref, payload = version
    head = plan.heads[f"{record.system}:{record.key}"]
    if record.system == "erp":
        return sales_order(
            head,
            changed=cursor,
            process=payload["OverallSDProcessStatus"],
            delivery=payload["OverallTotalDeliveryStatus"],
            rejection=payload["OverallSDDocumentRejectionSts"],
            financial="",
        )
    if record.system == "crm":
        return fulfillment_order(
            head["number"],
            ref,
            payload["Status"],
            warehouse=head["warehouse"],
            method="Standard",
            country=HAMBURG.country,
            created=payload["created"],
            modified=cursor,
        )
    if record.system == "wms":
        return _render_delivery(head, cursor, ref, payload)
    return _render_tracker(head, cursor, ref, payload["details"])


def _render_delivery(
    head: dict[str, Any], cursor: int, ref: str | None, payload: dict[str, Any]
) -> Record:
    picking_id, group = head["picking_id"], head["group"]
    picking_head = PickingHead(
        picking_id=picking_id,
        type_code="OUT",
        number=picking_id % 100000,
        warehouse=head["warehouse"],
        created=payload["created"],
        moves=(("SKU-001", 1),),
        group=(picking_id % 1000, group) if group is not None else None,
    )
    done = cursor if payload["state"].strip().lower() == "done" else None
    return picking(
        picking_head,
        origin=ref,
        state=payload["state"],
        written=cursor,
        done=done,
        tracking_ref=payload["tracking_ref"],
    )


def _render_tracker(
    head: tuple[str, str, str], cursor: int, ref: str | None, details: list[tuple[int, Detail]]
) -> Record:
    tracker_id, code, carrier = head
    rendered = []
    for at, detail in details:
        status_detail, message = _DETAIL_WORDS[detail.status.strip().lower()]
        rendered.append(
            tracking_detail(at, detail.status, status_detail, message, carrier, detail.place)
        )
    trusted = [at for at, detail in details if not detail.skewed] or [details[0][0]]
    created = min(trusted)
    tracker_head = TrackerHead(tracker_id, code, carrier, created, created + 3 * 86400)
    return tracker(
        tracker_head, reference=ref, details=rendered, updated=iso(cursor), signed_by=None
    )


__all__ = ["render"]
