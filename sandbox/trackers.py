"""The TMS's record: an order's carrier steps rendered as an EasyPost ``Tracker``
(docs/sources.md "tms"), and its place in the list without building it.

:func:`tms_record` is what a TMS page spends its CPU on (built as each page is served, never
kept: sandbox/store.py), so it writes the shape :func:`sandbox.shapes.tracker` and
:func:`sandbox.shapes.tracking_detail` give in one pass, with the places' locations and the
timestamps' hours cached (small, bounded caches; nothing kept a tracker):
tests/sandbox/test_sandbox_tms_build.py holds it to the bytes it served before. An order's
:class:`~sandbox.model.Anomaly` bends its tracker (late_arrival, regression, unknown_code,
misroute).
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

from sandbox.catalog import HUBS, WAREHOUSES, Place
from sandbox.clock import ISO_MINUTE_SECOND, iso, iso_hour
from sandbox.model import Order
from sandbox.model import StepKind as K
from sandbox.shapes import Record, tracking_detail, tracking_location

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


#: The ``TrackingLocation`` of each hub (by step ``where``) and warehouse. A location is one
#: dict shared by every detail built there, never to be changed: nothing that reads a built
#: tracker changes one (the store deep-copies what it keeps and hands out; the faults rewrite
#: a page decoded from its bytes; sandbox.changes copies the location it moves on), and a
#: detail takes 0.4 µs less than with a copy of its own (20k orders).
_HUB_LOCATIONS: dict[str, Record] = {
    f"hub:{n}": tracking_location(hub) for n, hub in enumerate(HUBS)
}
_WAREHOUSE_LOCATIONS: dict[str, Record] = {
    code: tracking_location(warehouse.place) for code, warehouse in WAREHOUSES.items()
}


@lru_cache(maxsize=1024)
def _ship_to_location(country: str, region: str, city: str, zip_code: str) -> Record:
    """A ship-to place's ``TrackingLocation`` (the catalog has a dozen: the cache stays small)."""
    return tracking_location(Place(country, region, city, zip_code))


@lru_cache(maxsize=256)
def _place_location(place: Place) -> Record:
    return tracking_location(place)


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


__all__ = ["tms_head", "tms_record"]
