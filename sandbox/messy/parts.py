"""The pieces most messy cases are made of: an ERP order in one version, a delivery order
(OUT picking) and the tracker that carries its parcel.

Ids follow the order: delivery order ``<order><n>`` in procurement group
``SO<order>/<n>``, tracker ``trk_`` + ``<order><n>`` in hex; a delivery names its tracker's
code (Odoo's ``carrier_tracking_ref``) unless the case says it does not.
"""

from __future__ import annotations

from sandbox.messy.plan import DeliveryPlan, Detail, Fact, Plan, TrackerPlan


def erp(
    plan: Plan,
    order_id: str,
    hours: float,
    codes: tuple[str, str, str] = ("C", "C", "A"),
    *,
    round_number: int = 1,
) -> dict[str, Fact]:
    """An ERP order whose one version (process, delivery, rejection status) is written
    ``hours`` from as_of; its facts by field name (``process``, ``delivery``, ``rejection``)."""
    order = plan.sales_order(order_id, hours)
    facts = order.version(round_number, hours, *codes)
    names = dict(zip(order.FIELDS, ("process", "delivery", "rejection"), strict=True))
    return {names[field]: fact for field, fact in facts.items()}


def delivery(
    plan: Plan,
    order_id: str,
    n: int,
    *,
    group: bool = True,
) -> DeliveryPlan:
    """Delivery order ``n`` of ``order_id`` (in group ``SO<order>/<n>`` unless ``group`` is
    False: then it belongs to no procurement group)."""
    name = f"SO{order_id}/{n}" if group else None
    return plan.delivery(int(f"{order_id}{n}"), name)


def tracker(plan: Plan, order_id: str, n: int, carrier: str = "UPS") -> TrackerPlan:
    """Tracker ``n`` of ``order_id``."""
    return plan.tracker(int(f"{order_id}{n}"), carrier)


def shipped(
    plan: Plan,
    order_id: str,
    n: int,
    done: float,
    updated: float,
    *details: Detail,
    linked: bool = True,
    group: bool = True,
) -> tuple[DeliveryPlan, TrackerPlan, Fact, list[Fact]]:
    """A parcel in round 1: delivery order ``n`` done ``done`` hours from as_of (naming its
    tracker's code when ``linked``) and its tracker with ``details``, updated ``updated``.
    Both records belong to the delivery's shipment."""
    out = delivery(plan, order_id, n, group=group)
    carrier = tracker(plan, order_id, n)
    ref = carrier.code if linked else None
    done_fact = out.version(1, done, order_id, "done", tracking_ref=ref)
    assert done_fact is not None
    scans = carrier.version(1, updated, order_id, *details)
    out.record.shipments[1] = out.shipment_id
    carrier.record.shipments[1] = out.shipment_id
    return out, carrier, done_fact, scans


__all__ = ["delivery", "erp", "shipped", "tracker"]
