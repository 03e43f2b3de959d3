"""The scenarios the dbt project's tests build, as extraction batches of source records:

- ``main_batches()``: nine orders covering the happy path, arrival out of event-time
  order, an ERP cancellation at a tie, a terminal conflict, a regression after delivery,
  a delivery abroad, a web order shipped unpaid and an order stuck on hold;
  ``EXPECTED_STATUS`` is what they imply.
- ``unknown_batches()``: the same plus one WMS state the crosswalk lacks;
  ``UNKNOWN_ROW`` is the crosswalk row that maps it.
"""

from __future__ import annotations

from typing import Any

from dbt_records import Batch, at, crm_fulfillment_order, erp_order, tms_tracker, wms_picking

#: order → its ERP attributes that no version changes (erp_order's keyword arguments)
ERP_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "1000001": {"items": (("SKU-001", "2"), ("SKU-002", "1"))},
    "1000002": {
        "created": 1,
        "store": "S02",
        "region": "SOUTH",
        "channel": "20",
        "items": (("SKU-003", "5"),),
    },
    "1000003": {"created": 1},
    "1000004": {"store": "S03", "region": "EAST", "country": "AT", "items": (("SKU-002", "1"),)},
    "1000005": {"store": "S04", "region": "WEST", "items": (("SKU-004", "3"),)},
    "1000006": {"created": 1, "store": "S05", "items": (("SKU-005", "1"),)},
    "1000007": {"created": 1},
    # a web order whose payment is pending
    "1000008": {"financial": "PENDING"},
    # created 400 hours before the others, paid
    "1000009": {
        "created": -400,
        "store": "S06",
        "region": "WEST",
        "country": "FR",
        "items": (("SKU-006", "2"),),
        "financial": "PAID",
    },
}


def erp_version(order_id: str, changed: float, statuses: str) -> dict[str, Any]:
    """A version of one of the nine orders: ``statuses`` is process, delivery and rejection
    status, one letter each ('-' for an empty one)."""
    process, delivery, rejection = (code.replace("-", "") for code in statuses)
    return erp_order(
        order_id,
        changed=changed,
        process=process,
        delivery=delivery,
        rejection=rejection,
        **ERP_ATTRIBUTES[order_id],
    )


def erp_batches() -> list[Batch]:
    created = [
        erp_version("1000001", 0, "A-A"),
        erp_version("1000002", 1, "A-A"),
        erp_version("1000003", 1, "A-A"),
        erp_version("1000004", 0, "A-A"),
        erp_version("1000005", 0, "A-A"),
        erp_version("1000006", 1, "A-A"),
        erp_version("1000007", 1, "A-A"),
        # the goods issue of the web order is posted while the payment is pending
        erp_version("1000008", 2, "CCA"),
        # waiting for stock ever since it was created
        erp_version("1000009", -399, "BAA"),
    ]
    changed = [
        erp_version("1000001", 1, "BAA"),
        erp_version("1000001", 5, "CCA"),
        # the ERP cancels 1000003 at 3h, the moment the CRM allocates it
        erp_version("1000003", 3, "A-C"),
        erp_version("1000004", 5, "CCA"),
    ]
    # cancelled in the ERP after the carrier delivered it: a terminal conflict
    cancelled = [erp_version("1000004", 30, "CCC")]
    return [
        Batch("erp", at(1.5), created),
        Batch("erp", at(6), changed),
        Batch("erp", at(31), cancelled),
    ]


def crm_batches() -> list[Batch]:
    o1, o3 = "1000001", "1000003"
    return [
        Batch(
            "crm",
            at(6),
            [
                crm_fulfillment_order(1, o1, "Draft", modified=1 / 6),
                crm_fulfillment_order(1, o1, "Allocated", modified=1 / 3),
                crm_fulfillment_order(1, o1, "Fulfilled", modified=5),
                crm_fulfillment_order(3, o3, "Draft", modified=1 + 1 / 6),
                crm_fulfillment_order(3, o3, "Allocated", modified=3),
            ],
        )
    ]


def wms_batches() -> list[Batch]:
    o1, o2, o4, o5, o8, o9 = (f"100000{n}" for n in (1, 2, 4, 5, 8, 9))
    first = [
        wms_picking(1, o1, "PICK", "assigned", written=1),
        wms_picking(1, o1, "PICK", "done", written=2),
        wms_picking(2, o1, "PACK", "done", written=3),
        wms_picking(3, o1, "OUT", "done", written=4),
        # 1000002's pick became ready at 4h ...
        wms_picking(4, o2, "PICK", "assigned", written=4),
        wms_picking(5, o4, "OUT", "done", written=4),
        wms_picking(8, o8, "OUT", "done", written=3),
        wms_picking(9, o9, "PICK", "confirmed", written=-399, warehouse="WH2"),
    ]
    late = [
        # ... and its older state (waiting for stock at 3h) arrives later
        wms_picking(4, o2, "PICK", "confirmed", written=3),
        # the WMS closes 1000005's delivery order after the carrier delivered it
        wms_picking(6, o5, "OUT", "done", written=22),
    ]
    return [Batch("wms", at(4.5), first), Batch("wms", at(23), late)]


def tms_batches() -> list[Batch]:
    berlin, hamburg = ("pre_transit", 3.5, "Berlin", "DE"), ("in_transit", 6, "Hamburg", "DE")
    first = [tms_tracker(1, "1000001", [berlin, hamburg])]
    later = [
        tms_tracker(
            1,
            "1000001",
            [
                berlin,
                hamburg,
                ("out_for_delivery", 24, "Munich", "DE"),
                ("delivered", 27, "Munich", "DE"),
            ],
        ),
        tms_tracker(
            4, "1000004", [("in_transit", 6, "Vienna", "AT"), ("delivered", 26, "Graz", "AT")]
        ),
        tms_tracker(
            5, "1000005", [("in_transit", 10, "Dortmund", "DE"), ("delivered", 20, "Cologne", "DE")]
        ),
        # delivered in France, ordered to Germany: a misroute
        tms_tracker(
            6,
            "1000006",
            [("in_transit", 10, "Saarbruecken", "DE"), ("delivered", 30, "Strasbourg", "FR")],
        ),
    ]
    return [Batch("tms", at(7), first), Batch("tms", at(32), later)]


def main_batches() -> list[Batch]:
    """Nine orders; what each implies is in EXPECTED_STATUS and the tests."""
    return [*erp_batches(), *crm_batches(), *wms_batches(), *tms_batches()]


def main_deliveries() -> tuple[list[Batch], list[Batch]]:
    """The main scenario in two deliveries: what was extracted by 7 h after T0, then the
    rest (new versions of 7 of the 23 source records, of orders 1, 2, 4, 5 and 6)."""
    batches = main_batches()
    return (
        [b for b in batches if b.extracted_at <= at(7)],
        [b for b in batches if b.extracted_at > at(7)],
    )


def unknown_batches() -> list[Batch]:
    """The main scenario plus a WMS state the crosswalk lacks (Odoo <= 12's partial state)."""
    return [
        *main_batches(),
        Batch("wms", at(40), [wms_picking(7, "1000007", "PICK", "partially_available", written=5)]),
    ]


#: order → (canonical status, deciding system, deciding code, updated_at in hours after T0)
EXPECTED_STATUS = {
    "1000001": ("delivered", "tms", "delivered", 27),
    "1000002": ("processing", "wms", "assigned", 4),
    "1000003": ("cancelled", "erp", "C", 3),
    "1000004": ("cancelled", "erp", "C", 30),
    # the WMS closing the delivery order at 22h, after the delivery at 20h, is a regression
    "1000005": ("delivered", "tms", "delivered", 20),
    "1000006": ("delivered", "tms", "delivered", 30),
    "1000007": ("placed", "erp", None, 1),
    "1000008": ("in_transit", "wms", "done", 3),
    "1000009": ("on_hold", "wms", "confirmed", -399),
}
#: the code of unknown_batches() and a crosswalk row that maps it
UNKNOWN_ROW = (
    "wms,PICK.state,partially_available,processing,picking,reserved,31,false,,"
    "Odoo 11 and older: pick partially reserved\n"
)
