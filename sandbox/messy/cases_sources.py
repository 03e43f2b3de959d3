"""Messy cases, what the sources send: orphans, code variants, back-office noise.

Records for an order the ERP never sent are an orphan order - in ``/orders`` (flagged) and
``/order_exceptions`` (``orphan_record``) - until the ERP order arrives and joins them up.
Known codes sent with other spacing or case are the codes they are; an unknown code stays
unknown. ERP and CRM updates after a delivery are paperwork, not a regression; a carrier
scan after the delivery still is.
"""

from __future__ import annotations

from sandbox.messy.parts import delivery, erp, shipped, tracker
from sandbox.messy.plan import COLOGNE, HAMBURG, KASSEL, LEIPZIG, Detail, Plan

D = Detail


def plan_cases(plan: Plan) -> None:
    """Add the orphan, code and noise cases to ``plan``."""
    _orphans(plan)
    _code_variants(plan)
    _paperwork_after_delivery(plan)


def _orphans(plan: Plan) -> None:
    plan.case(
        "warehouse_and_carrier_before_the_erp",
        "orphans",
        "the delivery order and its tracker arrive in round 1, the ERP order in round 2: an "
        "orphan in round 1, joined up in round 2",
    )
    o = "3000161"
    out, _, _, scans = shipped(
        plan, o, 1, -40, -20,
        D(-41, "pre_transit", KASSEL), D(-39.5, "in_transit", KASSEL),
        D(-20, "in_transit", COLOGNE),
    )  # fmt: skip
    parcel = ((out.shipment_id, "in_transit", "outbound", "UPS"),)
    plan.expect(
        o, "in_transit", scans[-1], orphan=True,
        exceptions=(("orphan_record", "tms+wms"),), shipments=parcel,
    )  # fmt: skip
    erp(plan, o, -2, round_number=2)
    plan.expect(o, "in_transit", scans[-1], from_round=2, shipments=parcel)

    plan.case(
        "fulfillment_order_before_the_erp",
        "orphans",
        "order management allocates an order the ERP sends only in round 3",
    )
    o = "3000162"
    allocated = plan.fulfillment(3000162).version(1, -30, o, "Allocated")
    plan.expect(o, "processing", allocated, orphan=True, exceptions=(("orphan_record", "crm"),))
    facts = erp(plan, o, -0.5, ("B", "A", "A"), round_number=3)
    plan.expect(o, "processing", facts["process"], from_round=3)

    plan.case(
        "tracker_no_order_claims",
        "orphans",
        "a tracker whose reference no ERP order ever has: an orphan order in every round",
    )
    o = "3000163"
    carrier = tracker(plan, o, 1)
    scans = carrier.version(
        1, -4, o,
        D(-10, "pre_transit", KASSEL), D(-8, "in_transit", KASSEL), D(-4, "in_transit", LEIPZIG),
    )  # fmt: skip
    carrier.record.shipments[1] = carrier.shipment_id
    plan.expect(
        o, "in_transit", scans[-1], orphan=True, exceptions=(("orphan_record", "tms"),),
        shipments=((carrier.shipment_id, "in_transit", "outbound", "UPS"),),
    )  # fmt: skip


def _code_variants(plan: Plan) -> None:
    for o, sent, unknown in (
        ("3000171", ("IN_TRANSIT", "DELIVERED"), False),
        ("3000172", ("in_transit", "Delivered "), True),
    ):
        plan.case(
            f"carrier_codes_{o}",
            "codes",
            f"the carrier sends {sent[0]!r} and {sent[1]!r}: the known codes they are"
            + (", and an unknown code stays unknown" if unknown else ""),
        )
        erp(plan, o, -30)
        scans = [
            D(-32, "pre_transit", KASSEL),
            D(-30.5, sent[0], KASSEL),
            D(-13, sent[1], HAMBURG),
        ]
        if unknown:
            scans.insert(2, D(-25, "arrived_at_facility", LEIPZIG, mapped=False))
        out, _, _, facts = shipped(plan, o, 1, -31, -13, *scans)
        plan.expect(
            o,
            "delivered",
            facts[-1],
            exceptions=(("unmapped_status_code", "tms"),) if unknown else (),
            shipments=((out.shipment_id, "delivered", "outbound", "UPS"),),
        )

    plan.case(
        "erp_and_warehouse_code_variants",
        "codes",
        "the ERP sends a blank delivery status as a space and ' B' for B; the warehouse "
        "sends 'Done': the codes they stand for",
    )
    o = "3000173"
    erp(plan, o, -20, (" B", " ", "A"))
    out = delivery(plan, o, 1)
    done = out.version(1, -10, o, "Done")
    out.record.shipments[1] = out.shipment_id
    plan.expect(
        o, "in_transit", done, shipments=((out.shipment_id, "in_transit", "outbound", "WH1"),)
    )

    plan.case(
        "order_management_upper_case",
        "codes",
        "order management sends 'PICK COMPLETE': Pick Complete",
    )
    o = "3000174"
    erp(plan, o, -16, ("A", "", "A"))
    picked = plan.fulfillment(3000174).version(1, -10, o, "PICK COMPLETE")
    plan.expect(o, "processing", picked)


def _paperwork_after_delivery(plan: Plan) -> None:
    plan.case(
        "goods_issue_posted_after_delivery",
        "noise",
        "the ERP posts its last change after the carrier delivered: paperwork, no regression "
        "(the delivery order names no tracker and has no group: one parcel all the same)",
    )
    o = "3000181"
    erp(plan, o, -10)
    out, _, _, scans = shipped(
        plan, o, 1, -45, -30,
        D(-46, "pre_transit", KASSEL), D(-44.5, "in_transit", KASSEL),
        D(-30, "delivered", HAMBURG),
        linked=False, group=False,
    )  # fmt: skip
    plan.expect(
        o, "delivered", scans[-1], shipments=((out.shipment_id, "delivered", "outbound", "UPS"),)
    )

    plan.case(
        "billing_and_fulfilment_records_after_delivery",
        "noise",
        "order management marks the order fulfilled and the ERP bills it after the delivery: "
        "paperwork, no regression",
    )
    o = "3000182"
    erp(plan, o, -5)
    plan.fulfillment(3000182).version(1, -8, o, "Fulfilled")
    out, _, _, scans = shipped(
        plan, o, 1, -51, -30,
        D(-52, "pre_transit", KASSEL), D(-50.5, "in_transit", KASSEL),
        D(-30, "delivered", HAMBURG),
        linked=False,
    )  # fmt: skip
    plan.expect(
        o, "delivered", scans[-1], shipments=((out.shipment_id, "delivered", "outbound", "UPS"),)
    )

    plan.case(
        "scan_after_delivery_is_still_a_regression",
        "noise",
        "the carrier scans the parcel in transit after delivering it: a real regression",
    )
    o = "3000183"
    erp(plan, o, -45)
    out, _, _, scans = shipped(
        plan, o, 1, -46, -20,
        D(-47, "pre_transit", KASSEL), D(-45.5, "in_transit", KASSEL),
        D(-30, "delivered", HAMBURG), D(-20, "in_transit", LEIPZIG, regression=True),
    )  # fmt: skip
    plan.expect(
        o, "delivered", scans[2], exceptions=(("regression_after_terminal", "tms"),),
        shipments=((out.shipment_id, "delivered", "outbound", "UPS"),),
    )  # fmt: skip


__all__ = ["plan_cases"]
