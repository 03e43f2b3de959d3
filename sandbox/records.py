"""Render an order's steps into the records each system serves (docs/sources.md).

Each system's record is the state the order's steps left it in, and its cursor field is
the time of the last step that changed it; an order's :class:`~sandbox.model.
Anomaly` bends the record of the system it concerns. These functions build fresh dicts
on every call, exactly as the APIs put them on the wire (a WMS picking served lazily may
have been built with its order's others for an earlier call; each is handed out once);
:func:`lazy_records` pairs each record with the :class:`~sandbox.store.Lazy` that
builds it again, which is what the sandbox's store keeps of a generated scenario.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sandbox.catalog import HUBS, WAREHOUSES, Place
from sandbox.clock import ISO_MINUTE_SECOND, iso, iso_hour
from sandbox.model import Order
from sandbox.model import StepKind as K
from sandbox.shapes import (
    PickingHead,
    Record,
    SalesOrderHead,
    fulfillment_order,
    picking,
    sales_order,
    tracking_detail,
)
from sandbox.store import Lazy

# ---------------------------------------------------------------------------- erp


def financial_status(order: Order) -> str:
    """The web shop's payment status the ERP carries (empty for store orders).

    Web orders are paid at checkout (PAID), refunded when cancelled (REFUNDED); the
    ``unpaid_shipment`` anomaly leaves the payment PENDING.
    """
    if order.channel != "web":
        return ""
    if order.anomaly is not None and order.anomaly.kind == "unpaid_shipment":
        return "PENDING"
    if any(step.kind == K.CANCEL for step in order.steps):
        return "REFUNDED"
    return "PAID"


def erp_record(order: Order) -> Record:
    """The ``A_SalesOrder`` entity, with ``to_Item`` expanded."""
    process, delivery, rejection = "A", "", "A"
    changed = order.created_ts
    for step in order.steps:
        if step.kind == K.ERP_DELIVERY_DUE:
            process, delivery, changed = "B", "A", step.at
        elif step.kind == K.ERP_GOODS_ISSUE:
            process, delivery, changed = "C", "C", step.at
        elif step.kind == K.CANCEL:
            process, rejection, changed = "C", "C", step.at
    if order.anomaly is not None and order.anomaly.kind == "terminal_conflict":
        # the ERP alone rejects the order while the carrier is still delivering it
        process, rejection, changed = "C", "C", order.anomaly.at
    head = SalesOrderHead(
        order_id=order.order_id,
        channel=order.channel,
        customer=order.customer,
        store=order.store,
        region=order.region,
        ship_to=Place(
            order.ship_to_country, order.ship_to_region, order.ship_to_city, order.ship_to_zip
        ),
        created=order.created_ts,
        lines=order.lines,
    )
    return sales_order(
        head,
        changed=changed,
        process=process,
        delivery=delivery,
        rejection=rejection,
        financial=financial_status(order),
    )


# ---------------------------------------------------------------------------- crm

_CRM_STATUS: dict[str, str] = {
    K.CRM_DRAFT: "Draft",
    K.CRM_ALLOCATED: "Allocated",
    K.CRM_ASSIGNED: "Assigned",
    K.CRM_PICKPACK: "Pickpack",
    K.CRM_PRINTED: "Printed",
    K.CRM_PICK_COMPLETE: "Pick Complete",
    K.CRM_PACK_COMPLETE: "Pack Complete",
    K.CRM_FULFILLED: "Fulfilled",
}


def crm_record(order: Order) -> Record | None:
    """The ``FulfillmentOrder``, or ``None`` while order management has not created one."""
    created = status = None
    changed = 0
    for step in order.steps:
        if step.kind == K.CRM_DRAFT:
            created = step.at
        if created is None:
            continue
        if step.kind in _CRM_STATUS:
            status, changed = _CRM_STATUS[step.kind], step.at
        elif step.kind == K.CANCEL:
            status, changed = "Canceled", step.at
    if created is None:
        return None
    return fulfillment_order(
        order.fulfillment_number,
        order.order_id,
        status or "",
        warehouse=order.warehouse,
        method=order.delivery_method,
        country=order.ship_to_country,
        created=created,
        modified=changed,
    )


# ---------------------------------------------------------------------------- wms

PICKING_TYPES: tuple[str, ...] = ("PICK", "PACK", "OUT")


def wms_records(order: Order) -> list[Record]:
    """The PICK, PACK and OUT pickings (none before the WMS got the order)."""
    created = None
    states: list[str] = []
    written: list[int] = []
    done: list[int | None] = [None, None, None]
    for step in order.steps:
        kind, at = step.kind, step.at
        if kind == K.WMS_CREATED:
            created = at
            states, written = ["draft", "waiting", "waiting"], [at, at, at]
        elif created is None:
            continue
        elif kind == K.WMS_PICK_RESERVED:
            states[0], written[0] = "assigned", at
        elif kind == K.WMS_PICK_WAITING_STOCK:
            states[0], written[0] = "confirmed", at
        elif kind in (K.WMS_PICK_DONE, K.WMS_PACK_DONE):
            n = 0 if kind == K.WMS_PICK_DONE else 1
            states[n], written[n], done[n] = "done", at, at
            states[n + 1], written[n + 1] = "assigned", at
        elif kind == K.WMS_OUT_DONE:
            states[2], written[2], done[2] = "done", at, at
        elif kind == K.CANCEL:
            for n in range(3):
                if states[n] != "done":
                    states[n], written[n] = "cancel", at
    if created is None:
        return []
    moves = tuple((line.sku, line.quantity) for line in order.lines)
    return [
        picking(
            PickingHead(
                picking_id=order.picking_ids[n],
                type_code=type_code,
                number=order.picking_numbers[n],
                warehouse=order.warehouse,
                created=created,
                moves=moves,
            ),
            origin=order.order_id,
            state=states[n],
            written=written[n],
            done=done[n],
        )
        for n, type_code in enumerate(PICKING_TYPES)
    ]


# ---------------------------------------------------------------------------- tms

#: Per TMS step: EasyPost status, status_detail and message.
_TRACKING: dict[str, tuple[str, str, str]] = {
    K.TMS_LABEL: ("pre_transit", "label_created", "Shipping label created"),
    K.TMS_OUT_FOR_DELIVERY: ("out_for_delivery", "out_for_delivery", "Out for delivery"),
    K.TMS_AVAILABLE_FOR_PICKUP: (
        "available_for_pickup",
        "arrived_at_pickup_location",
        "Available for pickup at the access point",
    ),
    K.TMS_DELIVERED: ("delivered", "arrived_at_destination", "Delivered"),
    K.TMS_PICKED_UP: ("delivered", "arrived_at_destination", "Picked up by the recipient"),
    K.TMS_FAILURE: ("failure", "delivery_exception", "Delivery failed: recipient not found"),
    K.TMS_RETURN_TO_SENDER: ("return_to_sender", "return", "Returned to sender"),
}
_FIRST_SCAN = ("in_transit", "received_at_origin_facility", "Received at the origin facility")
_HUB_SCAN = ("in_transit", "arrived_at_facility", "Arrived at a carrier facility")

#: Days from the label to the estimated delivery.
_DAYS_TO_DELIVERY: dict[str, int] = {"Express": 1, "Standard": 3, "Pickup": 3}
#: Carriers whose trackers carry no delivery estimate (EasyPost sends est_delivery_date null).
_NO_ESTIMATE: frozenset[str] = frozenset({"USPS"})


#: The kinds of the TMS's steps.
_TMS_KINDS: frozenset[str] = frozenset(
    kind for kind in vars(K).values() if isinstance(kind, str) and kind.startswith("tms.")
)
_IN_TRANSIT = K.TMS_IN_TRANSIT
_DATETIME = itemgetter("datetime")


def _location_of(place: Place) -> Record:
    return {
        "object": "TrackingLocation",
        "city": place.city,
        "state": place.region,
        "country": place.country,
        "zip": place.zip,
    }


#: The ``TrackingLocation`` of each hub (by step ``where``) and warehouse. A location is one
#: dict shared by every detail built there, never to be changed: nothing that reads a built
#: tracker changes one (the store deep-copies what it keeps and hands out; the faults rewrite
#: a page decoded from its bytes; sandbox.changes copies the location it moves on), and a
#: detail takes 0.4 µs less than with a copy of its own (20k orders).
_HUB_LOCATIONS: dict[str, Record] = {f"hub:{n}": _location_of(hub) for n, hub in enumerate(HUBS)}
_WAREHOUSE_LOCATIONS: dict[str, Record] = {
    code: _location_of(warehouse.place) for code, warehouse in WAREHOUSES.items()
}


@lru_cache(maxsize=1024)
def _ship_to_location(country: str, region: str, city: str, zip_code: str) -> Record:
    """A ship-to place's ``TrackingLocation`` (the catalog has a dozen: the cache stays small)."""
    return _location_of(Place(country, region, city, zip_code))


@lru_cache(maxsize=256)
def _place_location(place: Place) -> Record:
    return _location_of(place)


def _destination(order: Order) -> Record:
    """Where the order's parcel is delivered: its ship-to, or elsewhere when misrouted."""
    anomaly = order.anomaly
    if anomaly is not None and anomaly.kind == "misroute" and anomaly.place is not None:
        return _place_location(anomaly.place)
    return _ship_to_location(
        order.ship_to_country, order.ship_to_region, order.ship_to_city, order.ship_to_zip
    )


def _scans(order: Order) -> tuple[list[Record], int]:
    """The tracking details of the order's TMS steps, in step order, and when the first was.

    One pass over the TMS's steps, each detail one dict written in place: no call a detail
    but the timestamp's hour (cached), no place built, the location shared. Built through a
    function per detail (place, words, detail, timestamp), a tracker took 2-3 times longer.
    """
    carrier = order.carrier
    destination = None
    warehouse = _WAREHOUSE_LOCATIONS[order.warehouse]
    details: list[Record] = []
    first = 0
    # the TMS's steps picked first: unpacking only those saves 0.6 µs a tracker
    for at, kind, where in [step for step in order.steps if step.kind in _TMS_KINDS]:
        if not details:
            first = at
        if kind == _IN_TRANSIT:
            status, status_detail, message = _FIRST_SCAN if where == "wh" else _HUB_SCAN
        else:
            status, status_detail, message = _TRACKING[kind]
        if where == "dest":
            location = destination = destination or _destination(order)
        else:
            location = _HUB_LOCATIONS.get(where, warehouse)
        details.append(
            {
                "object": "TrackingDetail",
                "message": message,
                "status": status,
                "status_detail": status_detail,
                "datetime": iso_hour(at // 3600) + ISO_MINUTE_SECOND[at % 3600],
                "source": carrier,
                "tracking_location": location,
            }
        )
    return details, first


def _anomalous_details(order: Order, details: list[Record]) -> tuple[list[Record], str]:
    """The tracking details as the carrier reports them, and the tracker's updated_at.

    A late-arriving scan is appended after the details that followed it in time (the
    carrier reported it late); a scan after the delivery and an unknown status are
    details like the others, in time order.
    """
    anomaly = order.anomaly
    updated = details[-1]["datetime"]
    if anomaly is None or anomaly.place is None:
        return details, updated
    if anomaly.kind in ("late_arrival", "regression"):
        status, status_detail, message = _HUB_SCAN
        extra = tracking_detail(
            anomaly.at, status, status_detail, message, order.carrier, anomaly.place
        )
        updated = iso(max(anomaly.reported_at, anomaly.at))
        return [*details, extra], max(updated, details[-1]["datetime"])
    if anomaly.kind == "unknown_code":
        extra = tracking_detail(
            anomaly.at,
            anomaly.code,
            "arrived_at_facility",
            _HUB_SCAN[2],
            order.carrier,
            anomaly.place,
        )
        merged = sorted([*details, extra], key=_DATETIME)
        return merged, merged[-1]["datetime"]
    return details, updated


def tms_head(order: Order) -> Record:
    """The ``created_at`` and ``id`` of :func:`tms_record`'s tracker (its place in EasyPost's
    list), without building it; only for an order that has one."""
    first = next(step for step in order.steps if step.kind in _TMS_KINDS)
    return {"created_at": iso(first.at), "id": order.tracker_id}


def tms_record(order: Order) -> Record | None:
    """The EasyPost ``Tracker``, or ``None`` before a label was bought.

    Built as :func:`sandbox.shapes.tracker` shapes it (tests/sandbox/test_sandbox_tms_build.py
    holds the two to the same bytes), without its head and its second pass.
    """
    details, created = _scans(order)
    if not details:
        return None
    if order.anomaly is None:
        updated = details[-1]["datetime"]
    else:
        details, updated = _anomalous_details(order, details)
    # the tracker's status is the latest status in time, wherever the detail sits
    last = max(details, key=_DATETIME)
    carrier = order.carrier
    status = last["status"]
    return {
        "id": order.tracker_id,
        "object": "Tracker",
        "mode": "test",
        "tracking_code": order.tracking_code,
        "carrier": carrier,
        "reference": order.order_id,
        "status": status,
        "status_detail": last["status_detail"],
        "created_at": iso(created),
        "updated_at": updated,
        "est_delivery_date": None
        if carrier in _NO_ESTIMATE
        else iso(created + _DAYS_TO_DELIVERY[order.delivery_method] * 86400),
        "signed_by": order.signed_by if status == "delivered" else None,
        "tracking_details": details,
    }


#: An order's pickings built but not handed out yet, for the last orders served (a picking
#: is built with its order's others; each built dict is handed out once).
_UNSERVED: OrderedDict[int, tuple[Order, list[Record | None]]] = OrderedDict()
_UNSERVED_ORDERS = 1024
_UNSERVED_LOCK = threading.Lock()


def _wms_record(arg: tuple[Order, int]) -> Record:
    """Picking ``n`` of ``order``: one built with it for an earlier call and not handed out
    yet (the order kept with it is this very order), else its order's pickings built anew."""
    order, n = arg
    with _UNSERVED_LOCK:
        kept = _UNSERVED.get(id(order))
        if kept is not None and kept[0] is order and kept[1][n] is not None:
            record, kept[1][n] = kept[1][n], None
            return record  # type: ignore[return-value]
    pickings: list[Record | None] = list(wms_records(order))
    record, pickings[n] = pickings[n], None
    with _UNSERVED_LOCK:
        _UNSERVED[id(order)] = (order, pickings)
        _UNSERVED.move_to_end(id(order))
        while len(_UNSERVED) > _UNSERVED_ORDERS:
            _UNSERVED.popitem(last=False)
    return record  # type: ignore[return-value]


#: How one order's record of each system is built (the WMS: one of its pickings).
_BUILDERS: dict[str, Callable[[Any], Record | None]] = {
    "erp": erp_record, "crm": crm_record, "wms": _wms_record, "tms": tms_record,
}  # fmt: skip


#: The fields of a system's record that a view sorts by, without building it (the TMS's
#: list order: sandbox/apis/tms.py).
_HEADS: dict[str, Callable[[Any], Record]] = {"tms": tms_head}


def lazy_records(orders: Iterable[Order], system: str) -> Iterator[tuple[Record, Lazy]]:
    """Each record of ``system`` the ``orders`` imply, once, with the
    :class:`~sandbox.store.Lazy` that builds it again from its order."""
    build = _BUILDERS[system]
    for order in orders:
        if system == "wms":
            for n, record in enumerate(wms_records(order)):
                yield record, Lazy(_wms_record, (order, n))
        elif (record := build(order)) is not None:
            yield record, Lazy(build, order, _HEADS.get(system))
