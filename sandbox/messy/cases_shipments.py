"""Messy cases, shipments: split orders, partial deliveries, returns and exchanges.

An order's status is rolled up from its shipments (a delivery order with its tracker, or
a tracker alone): "delivered" is final for a parcel, not for the order while another
parcel travels or has not left, or while the ERP says only part was delivered; a parcel
the customer sends back to a company warehouse is a return, not a misroute and not a
regression; an exchange is a return plus a replacement parcel.
"""

from __future__ import annotations

from sandbox.messy.parts import delivery, erp, shipped, tracker
from sandbox.messy.plan import COLOGNE, HAMBURG, KASSEL, LEIPZIG, Detail, Plan

D = Detail


def plan_cases(plan: Plan) -> None:
    """Add the shipment cases to ``plan``."""
    _split_parcels(plan)
    _partial_deliveries(plan)
    _returns(plan)
    _exchanges(plan)


def _split_parcels(plan: Plan) -> None:
    plan.case(
        "split_parcel_scanned_after_first_delivery",
        "shipments",
        "the first parcel is delivered, the second is scanned in transit after that: the order "
        "is in transit, and nothing regressed",
    )
    o = "3000101"
    erp(plan, o, -40)
    out1, _, _, _ = shipped(
        plan, o, 1, -72, -50,
        D(-73, "pre_transit", KASSEL), D(-71, "in_transit", KASSEL),
        D(-60, "in_transit", LEIPZIG), D(-52, "out_for_delivery", HAMBURG),
        D(-50, "delivered", HAMBURG),
    )  # fmt: skip
    out2, _, _, scans = shipped(
        plan, o, 2, -42, -20,
        D(-43, "pre_transit", KASSEL), D(-41, "in_transit", KASSEL),
        D(-20, "in_transit", COLOGNE),
    )  # fmt: skip
    plan.expect(
        o,
        "in_transit",
        scans[-1],
        shipments=(
            (out1.shipment_id, "delivered", "outbound", "UPS"),
            (out2.shipment_id, "in_transit", "outbound", "UPS"),
        ),
    )


def _partial_deliveries(plan: Plan) -> None:
    plan.case(
        "erp_partially_delivered",
        "shipments",
        "the only parcel is delivered but the ERP says partially delivered (B): partially "
        "fulfilled, never delivered",
    )
    o = "3000102"
    facts = erp(plan, o, -60, ("B", "B", "A"))
    out, _, _, _ = shipped(
        plan, o, 1, -61, -30,
        D(-62, "pre_transit", KASSEL), D(-60.5, "in_transit", KASSEL),
        D(-30, "delivered", HAMBURG),
    )  # fmt: skip
    plan.expect(
        o,
        "partially_fulfilled",
        facts["delivery"],
        shipments=((out.shipment_id, "delivered", "outbound", "UPS"),),
    )

    for o, codes, what in (
        ("3000103", ("B", "B", "A"), "and the ERP says partially delivered"),
        ("3000104", ("B", "A", "A"), "and the ERP says nothing of it"),
    ):
        plan.case(
            f"second_parcel_still_in_the_warehouse_{o}",
            "shipments",
            f"one parcel delivered, the second still being prepared {what}: partially fulfilled",
        )
        facts = erp(plan, o, -48 if o == "3000104" else -30, codes)
        out1, _, _, _ = shipped(
            plan, o, 1, -31, -10,
            D(-32, "pre_transit", KASSEL), D(-30.5, "in_transit", KASSEL),
            D(-10, "delivered", HAMBURG),
        )  # fmt: skip
        out2 = delivery(plan, o, 2)
        waiting = out2.version(1, -20, o, "assigned")
        out2.record.shipments[1] = out2.shipment_id
        plan.expect(
            o,
            "partially_fulfilled",
            facts["delivery"] if o == "3000103" else waiting,
            shipments=(
                (out1.shipment_id, "delivered", "outbound", "UPS"),
                (out2.shipment_id, "processing", "outbound", "WH1"),
            ),
        )


def _returns(plan: Plan) -> None:
    plan.case(
        "return_delivered_to_a_company_warehouse",
        "shipments",
        "the customer's return travels on its own tracker and is delivered to warehouse WH1: "
        "the order is returned - no misroute, no regression",
    )
    o = "3000111"
    erp(plan, o, -130)
    out, _, _, _ = shipped(
        plan, o, 1, -131, -110,
        D(-132, "pre_transit", KASSEL), D(-130.5, "in_transit", KASSEL),
        D(-110, "delivered", HAMBURG),
    )  # fmt: skip
    back = tracker(plan, o, 2)
    scans = back.version(
        1, -30, o,
        D(-60, "pre_transit", HAMBURG), D(-50, "in_transit", HAMBURG),
        D(-40, "in_transit", LEIPZIG), D(-30, "delivered", KASSEL),
    )  # fmt: skip
    back.record.shipments[1] = back.shipment_id
    plan.expect(
        o,
        "returned",
        scans[-1],
        shipments=(
            (out.shipment_id, "delivered", "outbound", "UPS"),
            (back.shipment_id, "returned", "return", "UPS"),
        ),
    )

    plan.case(
        "return_on_its_way",
        "shipments",
        "a second tracker the warehouse never shipped is travelling back: a return on its way; "
        "the order stays delivered",
    )
    o = "3000112"
    erp(plan, o, -80)
    out, _, _, scans = shipped(
        plan, o, 1, -81, -60,
        D(-82, "pre_transit", KASSEL), D(-80.5, "in_transit", KASSEL),
        D(-60, "delivered", HAMBURG),
    )  # fmt: skip
    back = tracker(plan, o, 2)
    back.version(1, -10, o, D(-20, "pre_transit", HAMBURG), D(-10, "in_transit", HAMBURG))
    back.record.shipments[1] = back.shipment_id
    plan.expect(
        o,
        "delivered",
        scans[-1],
        shipments=(
            (out.shipment_id, "delivered", "outbound", "UPS"),
            (back.shipment_id, "in_transit", "return", "UPS"),
        ),
    )


def _exchanges(plan: Plan) -> None:
    for o, replaced_at, replacement, status in (
        (
            "3000113",
            -90,
            (D(-81, "pre_transit", KASSEL), D(-79, "in_transit", KASSEL),
             D(-50, "delivered", HAMBURG)),
            "delivered",
        ),
        (
            "3000114",
            -40,
            (D(-26, "pre_transit", KASSEL), D(-24, "in_transit", KASSEL)),
            "in_transit",
        ),
    ):  # fmt: skip
        plan.case(
            f"exchange_{o}",
            "shipments",
            f"delivered, returned to WH1, and a replacement parcel sent: the order is {status} "
            "with the replacement",
        )
        start = replaced_at - 30
        erp(plan, o, start - 60)
        out1, _, _, _ = shipped(
            plan, o, 1, start - 61, start - 50,
            D(start - 62, "pre_transit", KASSEL), D(start - 60.5, "in_transit", KASSEL),
            D(start - 50, "delivered", HAMBURG),
        )  # fmt: skip
        back = tracker(plan, o, 2)
        back.version(
            1, replaced_at, o,
            D(start, "pre_transit", HAMBURG), D(start + 5, "in_transit", HAMBURG),
            D(replaced_at, "delivered", KASSEL),
        )  # fmt: skip
        back.record.shipments[1] = back.shipment_id
        done_at = replacement[0].at
        assert isinstance(done_at, float | int)
        out3, _, _, scans = shipped(plan, o, 3, done_at + 1, replacement[-1].at, *replacement)
        plan.expect(
            o,
            status,
            scans[-1],
            shipments=(
                (out1.shipment_id, "delivered", "outbound", "UPS"),
                (back.shipment_id, "returned", "return", "UPS"),
                (out3.shipment_id, status, "outbound", "UPS"),
            ),
        )


__all__ = ["plan_cases"]
