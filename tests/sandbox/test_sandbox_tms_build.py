"""The TMS tracker builder, written in one pass for speed (``sandbox.trackers``), serves
byte for byte what the shapes' builders compose (``sandbox.shapes.tracker`` and
``tracking_detail``, which the messy world renders its trackers with).

:func:`reference_tms_record` below is ``sandbox.trackers.tms_record`` as it was before, one
step at a time through the shapes' builders, with its own copy of the steps' words: every
tracker of a default scenario, of scenarios with many anomalies (late_arrival, regression,
unknown_code, misroute, ...) and of the TMS list's pages must dump (orjson, key order and
all) the same as it. The timestamps the one pass writes from the hour and a table of
minutes and seconds are held to ``time.strftime``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import orjson
import pytest

from sandbox.apis import tms
from sandbox.catalog import HUBS, WAREHOUSES, Place
from sandbox.clock import ISO_MINUTE_SECOND, iso, iso_hour
from sandbox.credentials import SandboxCredentials
from sandbox.model import Order, Step
from sandbox.model import StepKind as K
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.shapes import TrackerHead, tracker, tracking_detail
from sandbox.trackers import tms_record

Record = dict[str, Any]

# ------------------------------------------------------------------ the reference

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
_DAYS_TO_DELIVERY: dict[str, int] = {"Express": 1, "Standard": 3, "Pickup": 3}
_NO_ESTIMATE: frozenset[str] = frozenset({"USPS"})


def _ref_place(order: Order, where: str) -> Place:
    if where == "dest":
        return Place(
            order.ship_to_country, order.ship_to_region, order.ship_to_city, order.ship_to_zip
        )
    if where.startswith("hub:"):
        return HUBS[int(where[4:])]
    return WAREHOUSES[order.warehouse].place


def _ref_detail(order: Order, step: Step) -> Record:
    if step.kind == K.TMS_IN_TRANSIT:
        status, status_detail, message = _FIRST_SCAN if step.where == "wh" else _HUB_SCAN
    else:
        status, status_detail, message = _TRACKING[step.kind]
    place = _ref_place(order, step.where)
    anomaly = order.anomaly
    if anomaly is not None and anomaly.kind == "misroute" and step.where == "dest":
        place = anomaly.place or place
    return tracking_detail(step.at, status, status_detail, message, order.carrier, place)


def _ref_anomalous_details(order: Order, details: list[Record]) -> tuple[list[Record], str]:
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
        merged = sorted([*details, extra], key=lambda detail: detail["datetime"])
        return merged, merged[-1]["datetime"]
    return details, updated


def reference_tms_record(order: Order) -> Record | None:
    """``sandbox.trackers.tms_record`` as it was before it was made faster."""
    steps = [step for step in order.steps if step.kind.startswith("tms.")]
    if not steps:
        return None
    details, updated = _ref_anomalous_details(order, [_ref_detail(order, s) for s in steps])
    last = max(details, key=lambda detail: detail["datetime"])
    created = steps[0].at
    head = TrackerHead(
        tracker_id=order.tracker_id,
        tracking_code=order.tracking_code,
        carrier=order.carrier,
        created=created,
        est_delivery=None
        if order.carrier in _NO_ESTIMATE
        else created + _DAYS_TO_DELIVERY[order.delivery_method] * 86400,
    )
    return tracker(
        head,
        reference=order.order_id,
        details=details,
        updated=updated,
        signed_by=order.signed_by if last["status"] == "delivered" else None,
    )


# ------------------------------------------------------------------ the comparisons

#: A default scenario, and scenarios where many orders carry an anomaly of every kind.
WORLDS = [
    Scenario(),
    Scenario(seed=3, orders=1500, anomalies=0.1),
    Scenario(seed=11, orders=800, anomalies=0.3),
    Scenario(seed=5, orders=300, anomalies=0),
]


def _dumped(order: Order) -> bytes | None:
    record = tms_record(order)
    return None if record is None else orjson.dumps(record)


def _reference_dumped(order: Order) -> bytes | None:
    record = reference_tms_record(order)
    return None if record is None else orjson.dumps(record)


@pytest.mark.parametrize("world", WORLDS, ids=repr)
def test_every_tracker_is_byte_identical_to_the_reference(world: Scenario) -> None:
    differing = [o.order_id for o in world if _dumped(o) != _reference_dumped(o)]
    assert differing == []
    # twice: whatever the builder caches changes nothing
    assert [_dumped(o) for o in world] == [_reference_dumped(o) for o in world]


def test_the_anomalies_that_bend_trackers_are_compared() -> None:
    kinds = {o.anomaly.kind for world in WORLDS for o in world if o.anomaly is not None}
    assert {"late_arrival", "regression", "unknown_code", "misroute"} <= kinds
    bent = [o for o in WORLDS[1] if o.anomaly is not None and o.anomaly.place is not None]
    assert len(bent) > 100
    assert all(_dumped(o) == _reference_dumped(o) for o in bent)


def test_a_built_tracker_can_be_changed_without_changing_the_next() -> None:
    """A tracker and its details are new dicts each build (a tracking_location is shared by
    every detail at its place, never to be changed: sandbox/trackers.py)."""
    order = next(o for o in WORLDS[0] if tms_record(o) is not None)
    first = tms_record(order)
    assert first is not None
    first["status"] = "changed"
    first["tracking_details"][0]["status"] = "changed"
    first["tracking_details"].append({})
    assert _dumped(order) == _reference_dumped(order)


def test_moving_trackers_on_changes_no_tracker_built_later() -> None:
    """The rounds that move trackers on (sandbox.changes) build on built trackers."""
    world = Scenario(seed=4, orders=300, moves=0.5)
    for round_number in (2, 3):
        assert world.changes(round_number, "tms")
    assert [_dumped(o) for o in world] == [_reference_dumped(o) for o in world]


def test_the_tms_list_serves_the_same_bytes_as_the_reference() -> None:
    world = WORLDS[1]
    by_id = {o.tracker_id: o for o in world}
    credentials = SandboxCredentials.generate()
    auth = (credentials.tms_api_key, "")
    pages = 0
    with SandboxServer(world, credentials) as server, httpx.Client(timeout=30) as client:
        url, before = server.base_url("tms") + tms.PATH, None
        while True:
            params = {"page_size": "100", **({"before_id": before} if before else {})}
            response = client.get(url, params=params, auth=auth)
            assert response.status_code == 200
            body = orjson.loads(response.content)
            expected = {
                "trackers": [reference_tms_record(by_id[t["id"]]) for t in body["trackers"]],
                "has_more": body["has_more"],
            }
            assert response.content == orjson.dumps(expected)
            pages += 1
            if not body["has_more"]:
                break
            before = body["trackers"][-1]["id"]
    assert pages == -(-sum(1 for o in world if reference_tms_record(o)) // 100)


def test_iso_writes_each_second_as_strftime_does() -> None:
    """``iso`` and the one pass's form of it (the hour cached, minutes and seconds from a
    table) against ``time.strftime``: hour and day boundaries, and hours beyond the cache."""
    rng = random.Random(7)
    day = 86400
    seconds = [0, 59, 3599, 3600, 86399, day * 20000 - 1, day * 20000]
    seconds += [rng.randrange(0, day * 40000) for _ in range(20000)]
    for second in seconds:
        expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        assert iso(second) == expected
        assert iso_hour(second // 3600) + ISO_MINUTE_SECOND[second % 3600] == expected
