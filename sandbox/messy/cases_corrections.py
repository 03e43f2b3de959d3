"""Messy cases, corrections: a later version of a record changes the order it belongs to.

The latest version of a record decides which order it is about; every event of the record
moves with it, the order it left loses them, and both orders show the move
(``record_reassigned``). A reference that goes missing for a round (a record lacking its
order reference: the blocking check on the events fails that round) and comes back leaves
no trace once it is back.
"""

from __future__ import annotations

from sandbox.messy.parts import delivery, erp, shipped, tracker
from sandbox.messy.plan import HAMBURG, KASSEL, LEIPZIG, Detail, Plan

D = Detail


def plan_cases(plan: Plan) -> None:
    """Add the correction cases to ``plan``."""
    _tracker_reference_corrected(plan)
    _delivery_reassigned(plan)
    _fulfillment_order_moved(plan)
    _references_lost_for_a_round(plan)


def _tracker_reference_corrected(plan: Plan) -> None:
    plan.case(
        "tracker_reference_corrected",
        "corrections",
        "the carrier labelled B's parcel with A's reference and corrects it in round 2: the "
        "tracker's events move from A to B",
    )
    a, b = "3000121", "3000122"
    erp(plan, a, -40)
    out_a, _, _, scans_a = shipped(
        plan, a, 1, -41, -20,
        D(-42, "pre_transit", KASSEL), D(-40.5, "in_transit", KASSEL),
        D(-20, "delivered", HAMBURG),
    )  # fmt: skip
    erp(plan, b, -30)
    out_b = delivery(plan, b, 1)
    wrong = tracker(plan, b, 1)
    done_b = out_b.version(1, -31, b, "done", tracking_ref=wrong.code)
    out_b.record.shipments[1] = out_b.shipment_id
    wrong.version(
        1, -15, a,
        D(-32, "pre_transit", KASSEL), D(-30.5, "in_transit", KASSEL),
        D(-15, "in_transit", LEIPZIG),
    )  # fmt: skip
    corrected = wrong.version(2, -2.5, b, D(-2.5, "out_for_delivery", HAMBURG))
    wrong.record.shipments.update({1: wrong.shipment_id, 2: out_b.shipment_id})
    outbound_a = (out_a.shipment_id, "delivered", "outbound", "UPS")
    # round 1: a parcel no delivery order of A names, travelling while A's own is delivered,
    # looks like a return of A's
    plan.expect(
        a,
        "delivered",
        scans_a[-1],
        shipments=(outbound_a, (wrong.shipment_id, "in_transit", "return", "UPS")),
    )
    plan.expect(
        b, "in_transit", done_b, shipments=((out_b.shipment_id, "in_transit", "outbound", "WH1"),)
    )
    moved = (("record_reassigned", "tms"),)
    plan.expect(
        a, "delivered", scans_a[-1], from_round=2, exceptions=moved, shipments=(outbound_a,)
    )
    plan.expect(
        b,
        "in_transit",
        corrected[-1],
        from_round=2,
        exceptions=moved,
        shipments=((out_b.shipment_id, "in_transit", "outbound", "UPS"),),
    )


def _delivery_reassigned(plan: Plan) -> None:
    plan.case(
        "delivery_order_reassigned",
        "corrections",
        "the delivery order made for A is reassigned to B in round 2 (its origin changes, its "
        "state does not): its event moves to B",
    )
    a, b = "3000123", "3000124"
    facts_a = erp(plan, a, -38, ("B", "A", "A"))
    facts_b = erp(plan, b, -37, ("B", "A", "A"))
    out = plan.delivery(30001239, "WH1/GRP/00417")
    assigned = out.version(1, -36, a, "assigned")
    out.version(2, -2, b, "assigned")
    out.record.shipments[1] = out.shipment_id
    shipment = ((out.shipment_id, "processing", "outbound", "WH1"),)
    plan.expect(a, "processing", assigned, shipments=shipment)
    plan.expect(b, "processing", facts_b["process"])
    moved = (("record_reassigned", "wms"),)
    plan.expect(a, "processing", facts_a["process"], from_round=2, exceptions=moved)
    plan.expect(b, "processing", assigned, from_round=2, exceptions=moved, shipments=shipment)


def _fulfillment_order_moved(plan: Plan) -> None:
    plan.case(
        "fulfillment_order_moved",
        "corrections",
        "order management moves a fulfillment order from A to B in round 2 and assigns it: "
        "both its events move to B",
    )
    a, b = "3000125", "3000126"
    facts_a = erp(plan, a, -30, ("A", "", "A"))
    facts_b = erp(plan, b, -29, ("A", "", "A"))
    fo = plan.fulfillment(3000125)
    allocated = fo.version(1, -28, a, "Allocated")
    assigned = fo.version(2, -2, b, "Assigned")
    plan.expect(a, "processing", allocated)
    plan.expect(b, "placed", facts_b["rejection"])
    moved = (("record_reassigned", "crm"),)
    plan.expect(a, "placed", facts_a["rejection"], from_round=2, exceptions=moved)
    plan.expect(b, "processing", assigned, from_round=2, exceptions=moved)


def _references_lost_for_a_round(plan: Plan) -> None:
    plan.case(
        "references_lost_for_a_round",
        "corrections",
        "in round 2 a tracker, a delivery order and a fulfillment order arrive without their "
        "order reference (the blocking check on the events fails, the api keeps serving); in "
        "round 3 the references are back",
    )
    lost = (("record_reassigned", "tms"),)
    o = "3000131"
    erp(plan, o, -20)
    out = delivery(plan, o, 1)
    carrier = tracker(plan, o, 1)
    done = out.version(1, -21, o, "done", tracking_ref=carrier.code)
    out.record.shipments[1] = carrier.record.shipments[1] = out.shipment_id
    scans = carrier.version(
        1, -20.5, o, D(-22, "pre_transit", KASSEL), D(-20.5, "in_transit", KASSEL)
    )
    carrier.version(2, -2.5, None, D(-2.5, "in_transit", LEIPZIG))
    back = carrier.version(3, -0.5, o, D(-0.5, "out_for_delivery", HAMBURG))
    parcel = (out.shipment_id, "in_transit", "outbound", "UPS")
    plan.expect(o, "in_transit", scans[-1], shipments=(parcel,))
    plan.expect(
        o, "in_transit", done, from_round=2, exceptions=lost,
        shipments=((out.shipment_id, "in_transit", "outbound", "WH1"),),
    )  # fmt: skip
    plan.expect(o, "in_transit", back[-1], from_round=3, shipments=(parcel,))

    o = "3000132"
    facts = erp(plan, o, -33, ("B", "A", "A"))
    out = delivery(plan, o, 1)
    assigned = out.version(1, -32, o, "assigned")
    out.version(2, -2, None, "assigned")
    done = out.version(3, -0.7, o, "done")
    out.record.shipments[1] = out.shipment_id
    plan.expect(
        o, "processing", assigned, shipments=((out.shipment_id, "processing", "outbound", "WH1"),)
    )
    plan.expect(
        o, "processing", facts["process"], from_round=2, exceptions=(("record_reassigned", "wms"),)
    )
    plan.expect(
        o, "in_transit", done, from_round=3,
        shipments=((out.shipment_id, "in_transit", "outbound", "WH1"),),
    )  # fmt: skip

    o = "3000133"
    facts = erp(plan, o, -26, ("A", "", "A"))
    fo = plan.fulfillment(3000133)
    draft = fo.version(1, -25, o, "Draft")
    fo.version(2, -1.5, None, "Allocated")
    assigned = fo.version(3, -0.5, o, "Assigned")
    plan.expect(o, "placed", draft)
    plan.expect(
        o, "placed", facts["rejection"], from_round=2, exceptions=(("record_reassigned", "crm"),)
    )
    plan.expect(o, "processing", assigned, from_round=3)


__all__ = ["plan_cases"]
