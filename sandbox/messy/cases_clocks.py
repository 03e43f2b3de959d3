"""Messy cases, time: skewed clocks, contradictions at the same instant, a stuck order.

A scan dated far from when it was extracted (a scanner with a wrong clock) is flagged
``clock_skew`` and decides nothing; the SLA clock is the extraction time, so a date in the
future moves no other order's clock. Two systems contradicting each other at the same
second raise ``status_conflict``, whatever precedence then picks. An order in transit for
longer than its SLA at the extraction time is ``stuck_beyond_sla``.
"""

from __future__ import annotations

from sandbox.messy.parts import delivery, erp, shipped, tracker
from sandbox.messy.plan import COLOGNE, HAMBURG, KASSEL, LEIPZIG, Detail, Plan

D = Detail


def plan_cases(plan: Plan) -> None:
    """Add the clock cases to ``plan``."""
    _skewed_clocks(plan)
    _same_instant(plan)
    _stuck(plan)


def _skewed_clocks(plan: Plan) -> None:
    skewed = (("clock_skew", "tms"),)
    plan.case(
        "scan_dated_a_month_ahead",
        "clock_skew",
        "a hub scan dated 30 days in the future: flagged, decides nothing, moves no clock",
    )
    o = "3000141"
    erp(plan, o, -20)
    out, _, _, scans = shipped(
        plan, o, 1, -21, -10,
        D(-22, "pre_transit", KASSEL), D(-20.5, "in_transit", KASSEL),
        D(720, "in_transit", LEIPZIG, skewed=True),
    )  # fmt: skip
    plan.expect(
        o, "in_transit", scans[1], exceptions=skewed,
        shipments=((out.shipment_id, "in_transit", "outbound", "UPS"),),
    )  # fmt: skip

    plan.case(
        "delivery_dated_two_days_ahead",
        "clock_skew",
        "the delivery scan is dated two days in the future: flagged, the order stays out for "
        "delivery",
    )
    o = "3000142"
    erp(plan, o, -10)
    out, _, _, scans = shipped(
        plan, o, 1, -11, -3.2,
        D(-12, "pre_transit", KASSEL), D(-10.5, "in_transit", KASSEL),
        D(-3.5, "out_for_delivery", HAMBURG), D(48, "delivered", HAMBURG, skewed=True),
    )  # fmt: skip
    plan.expect(
        o, "in_transit", scans[2], exceptions=skewed,
        shipments=((out.shipment_id, "in_transit", "outbound", "UPS"),),
    )  # fmt: skip

    plan.case(
        "scanner_reset_to_2001",
        "clock_skew",
        "a scan dated 2001-01-01 (a scanner whose clock was reset): flagged, first in the "
        "timeline, decides nothing",
    )
    o = "3000143"
    erp(plan, o, -30)
    out, _, _, scans = shipped(
        plan, o, 1, -31, -25,
        D(-32, "pre_transit", KASSEL), D("2001-01-01T00:00:00Z", "in_transit", KASSEL, skewed=True),
        D(-25, "in_transit", COLOGNE),
    )  # fmt: skip
    plan.expect(
        o, "in_transit", scans[-1], exceptions=skewed,
        shipments=((out.shipment_id, "in_transit", "outbound", "UPS"),),
    )  # fmt: skip


def _same_instant(plan: Plan) -> None:
    plan.case(
        "shipped_while_the_erp_cancels",
        "ties",
        "the warehouse ships the second the ERP cancels: a status_conflict; the cancellation "
        "decides",
    )
    o = "3000151"
    facts = erp(plan, o, -20, ("C", "A", "C"))
    out = delivery(plan, o, 1)
    out.version(1, -20, o, "done")
    out.record.shipments[1] = out.shipment_id
    plan.expect(
        o, "cancelled", facts["rejection"], exceptions=(("status_conflict", "erp+wms"),),
        shipments=((out.shipment_id, "in_transit", "outbound", "WH1"),),
    )  # fmt: skip

    plan.case(
        "delivered_while_the_warehouse_reopens",
        "ties",
        "the carrier delivers the second the warehouse sets the parcel's delivery order back to "
        "ready: a status_conflict; the carrier's delivery decides",
    )
    o = "3000152"
    erp(plan, o, -30)
    out = delivery(plan, o, 1)
    carrier = tracker(plan, o, 1)
    out.version(1, -10, o, "assigned", tracking_ref=carrier.code)
    scans = carrier.version(
        1, -10, o,
        D(-32, "pre_transit", KASSEL), D(-30.5, "in_transit", KASSEL),
        D(-10, "delivered", HAMBURG),
    )  # fmt: skip
    out.record.shipments[1] = carrier.record.shipments[1] = out.shipment_id
    plan.expect(
        o, "delivered", scans[-1], exceptions=(("status_conflict", "tms+wms"),),
        shipments=((out.shipment_id, "delivered", "outbound", "UPS"),),
    )  # fmt: skip

    plan.case(
        "order_management_cancels_while_the_carrier_scans",
        "ties",
        "order management cancels the second the carrier scans the parcel: a status_conflict; "
        "the cancellation decides though the carrier's precedence is higher",
    )
    o = "3000153"
    erp(plan, o, -28, ("B", "A", "A"))
    cancelled = plan.fulfillment(3000153).version(1, -15, o, "Canceled")
    out, _, _, _ = shipped(
        plan, o, 1, -20, -15,
        D(-21, "pre_transit", KASSEL), D(-19.5, "in_transit", KASSEL),
        D(-15, "in_transit", LEIPZIG),
    )  # fmt: skip
    plan.expect(
        o, "cancelled", cancelled, exceptions=(("status_conflict", "crm+tms"),),
        shipments=((out.shipment_id, "in_transit", "outbound", "UPS"),),
    )  # fmt: skip

    plan.case(
        "same_instant_no_contradiction",
        "ties",
        "the ERP posts the goods issue the second the warehouse ships: the same news from two "
        "systems, no exception",
    )
    o = "3000154"
    erp(plan, o, -20)
    out, _, _, scans = shipped(
        plan, o, 1, -20, -5,
        D(-21, "pre_transit", KASSEL), D(-19.5, "in_transit", KASSEL),
        D(-5, "delivered", HAMBURG),
        linked=False,
    )  # fmt: skip
    plan.expect(
        o, "delivered", scans[-1], shipments=((out.shipment_id, "delivered", "outbound", "UPS"),)
    )


def _stuck(plan: Plan) -> None:
    plan.case(
        "in_transit_beyond_its_sla",
        "stuck",
        "in transit for 300 hours at the extraction time (SLA 240): stuck_beyond_sla",
    )
    o = "3000191"
    erp(plan, o, -301)
    out, _, _, scans = shipped(
        plan, o, 1, -300, -290,
        D(-302, "pre_transit", KASSEL), D(-299, "in_transit", KASSEL),
        D(-290, "in_transit", COLOGNE),
    )  # fmt: skip
    plan.expect(
        o, "in_transit", scans[-1], exceptions=(("stuck_beyond_sla", "tms+wms"),),
        shipments=((out.shipment_id, "in_transit", "outbound", "UPS"),),
    )  # fmt: skip


__all__ = ["plan_cases"]
