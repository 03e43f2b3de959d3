"""Move the sandbox's world on, one change at a time: what pushes are made of.

:func:`move_on` changes one record of a system the way that system would and upserts it
(the store's listeners push it). A TMS tracker not yet delivered gets the next tracking
detail a real carrier sends, one hour after its last but never after the wall clock
(:func:`next_scan_at`; :data:`TRACKER_MOVES`): picked up,
scanned at two more hubs (a new location, same status), out for delivery, a failed delivery
attempt (``failure``), back at the depot (``in_transit``) and out again - so a tracker can
move for as long as a run lasts, each move valid for the crosswalk, most of them a canonical
status change. A WMS picking, a CRM fulfillment order or an ERP sales order gets a new
version (its cursor one second on).

``POST /changes`` on the sandbox's root URL (``{"system": "tms", "count": n}`` or
``{"system": "tms", "keys": [...]}``) calls :func:`changes` and answers what changed; the
records picked by ``count`` are the ones moved least recently (:class:`Movable` keeps them
in a queue, so a request costs what it moves, not what the store holds). With ``"anomaly":
"unknown_code"`` a moved tracker's new detail carries a status code no crosswalk knows
(``unknown_live_<n>``): an anomaly injected at the source, for the cases' tests and bench.
With ``"anomaly": "cancelled"`` the moved tracker is cancelled instead: its new detail and
its status are ``cancelled``, the way EasyPost documents a tracker that ends without a
delivery (the ``Tracker`` object's ``status`` values); it is pushed as any update
(``tracker.updated``) and never moves again. With ``{"system": "erp", "anomaly":
"rejected_item"}`` the moved sales order's first standing item is rejected
(``SalesDocumentRjcnReason``, :data:`REJECTION_REASON`) and its header's
``OverallSDDocumentRejectionSts`` follows (``B``, or ``C`` once every item is rejected).
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections import deque
from typing import Any

from sandbox.catalog import HUBS
from sandbox.clock import instant_seconds, iso, parse_instant
from sandbox.store import CURSOR_FIELD, KEY_FIELD, SandboxStore, sortable, wire_time

#: A tracker's next move from its current status: (status, status_detail, message, where) -
#: ``where`` is "hub" (the next carrier hub: a new location) or "same" (where it last was).
#: An ``in_transit`` tracker passes two hubs before it goes out for delivery.
TRACKER_MOVES: dict[str, tuple[str, str, str, str]] = {
    "pre_transit": ("in_transit", "received_at_origin_facility", "Picked up", "same"),
    "unknown": ("in_transit", "received_at_origin_facility", "Picked up", "same"),
    "in_transit": ("in_transit", "arrived_at_facility", "Arrived at a carrier facility", "hub"),
    "out_for_delivery": ("failure", "delivery_exception", "Delivery attempted: nobody home",
                         "same"),
    "failure": ("in_transit", "arrived_at_destination", "Back at the delivery depot", "same"),
    "available_for_pickup": ("available_for_pickup", "arrived_at_pickup_location",
                             "Reminder: waiting at the pickup point", "same"),
}  # fmt: skip
OUT_FOR_DELIVERY = ("out_for_delivery", "out_for_delivery", "Out for delivery", "same")
#: Hubs an in_transit tracker passes before going out for delivery (from the depot it goes
#: out at once).
HUBS_BEFORE_DELIVERY = 2
TERMINAL = ("delivered", "return_to_sender", "cancelled")


def _next_move(details: list[dict[str, Any]], status: str) -> tuple[str, str, str, str]:
    if status != "in_transit":
        return TRACKER_MOVES.get(status, TRACKER_MOVES["unknown"])
    if details and details[-1].get("status_detail") == "arrived_at_destination":
        return OUT_FOR_DELIVERY
    hubs = 0
    for detail in reversed(details):
        if detail.get("status_detail") != "arrived_at_facility":
            break
        hubs += 1
    return OUT_FOR_DELIVERY if hubs >= HUBS_BEFORE_DELIVERY else TRACKER_MOVES["in_transit"]


#: How long after a tracker's last detail its next one comes, at most.
SCAN_INTERVAL = 3600


def next_scan_at(last: int, now: int) -> int:
    """When a tracker whose last detail is at ``last`` gets its next: an hour later, but no
    later than ``now`` (a carrier reports no scan from the future); one second after ``last``
    when that is already at or past ``now`` (a world set ahead of the clock)."""
    return max(last + 1, min(last + SCAN_INTERVAL, now))


def _next_tracker(record: dict[str, Any]) -> dict[str, Any]:
    details = list(record.get("tracking_details") or [])
    last = max(details, key=lambda d: d["datetime"]) if details else None
    since = int(parse_instant(last["datetime"] if last else record["updated_at"]))
    at = next_scan_at(since, int(time.time()))
    status, status_detail, text, where = _next_move(details, str(record.get("status")))
    location = dict((last or {}).get("tracking_location") or {"object": "TrackingLocation"})
    if where == "hub":
        hub = HUBS[len(details) % len(HUBS)]
        location.update(city=hub.city, state=hub.region, country=hub.country, zip=hub.zip)
    detail = {
        "object": "TrackingDetail",
        "message": text,
        "status": status,
        "status_detail": status_detail,
        "datetime": iso(at),
        "source": (last or {}).get("source", record.get("carrier")),
        "tracking_location": location,
    }
    updated = iso(max(at, int(parse_instant(record["updated_at"])) + 1))
    return {
        **record,
        "status": status,
        "status_detail": status_detail,
        "tracking_details": [*details, detail],
        "updated_at": updated,
    }


def _order_of(system: str, record: dict[str, Any]) -> Any:
    """The order a record names (docs/sources.md): what ``POST /changes`` reports."""
    if system == "crm":
        return (record.get("OrderSummary") or {}).get("OrderNumber")
    return record.get({"erp": "SalesOrder", "wms": "origin", "tms": "reference"}[system])


def _cursor_text(system: str, record: dict[str, Any]) -> str:
    """The record's cursor as ``POST /changes`` reports it: as the system writes it, but the
    ERP's OData ``/Date(ms+0000)/`` in ISO 8601 (what a client compares instants in)."""
    value = str(record[CURSOR_FIELD[system]])
    return (sortable(value) or value) if system == "erp" else value


def _event_at(system: str, record: dict[str, Any]) -> str:
    """When the change happened at the source: a tracker's newest detail, else the cursor."""
    if system == "tms" and record.get("tracking_details"):
        return str(max(d["datetime"] for d in record["tracking_details"]))
    return _cursor_text(system, record)


def _unknown_code(record: dict[str, Any]) -> dict[str, Any]:
    """The tracker with its newest detail's status replaced by a code nobody maps."""
    details = list(record["tracking_details"])
    code = f"unknown_live_{len(details)}"
    details[-1] = {**details[-1], "status": code, "message": "unknown (live anomaly)"}
    return {**record, "status": code, "tracking_details": details}


def _cancelled(record: dict[str, Any]) -> dict[str, Any]:
    """The tracker cancelled: its newest detail and its status say ``cancelled``."""
    details = list(record["tracking_details"])
    details[-1] = {**details[-1], "status": "cancelled", "message": "tracker cancelled"}
    return {**record, "status": "cancelled", "tracking_details": details}


#: What ``anomaly`` does to a moved tracker's new version.
TRACKER_ANOMALIES = {"unknown_code": _unknown_code, "cancelled": _cancelled}
#: The reason for rejection the ``rejected_item`` anomaly gives (SAP's standard key 01,
#: "delivery date too late"; sandbox/README.md).
REJECTION_REASON = "01"


def _rejected_item(record: dict[str, Any]) -> dict[str, Any]:
    """The sales order with its first item not yet rejected rejected (``SalesDocumentRjcnReason``,
    S/4HANA's way to cancel an item) and its header's rejection status following: ``B``
    while some items stand, ``C`` once all are rejected."""
    items = [dict(item) for item in record["to_Item"]["results"]]
    standing = [item for item in items if not item.get("SalesDocumentRjcnReason")]
    if not standing:
        return record
    standing[0]["SalesDocumentRjcnReason"] = REJECTION_REASON
    status = "B" if len(standing) > 1 else "C"
    return {**record, "OverallSDDocumentRejectionSts": status, "to_Item": {"results": items}}


#: What ``anomaly`` does to a moved record's new version, per system.
ANOMALIES = {"tms": TRACKER_ANOMALIES, "erp": {"rejected_item": _rejected_item}}


def can_move(system: str, record: dict[str, Any]) -> bool:
    """Whether the record can still move on: a tracker never once delivered, returned or
    cancelled; any other system's record always."""
    if system != "tms":
        return True
    seen = {record.get("status")} | {d["status"] for d in record.get("tracking_details") or []}
    return not seen & set(TERMINAL)


def next_version(
    system: str, record: dict[str, Any], at: int | None = None
) -> dict[str, Any] | None:
    """The record's next version as ``system`` writes it (None: a tracker that has ended).

    A tracker gets its next tracking detail (:func:`next_scan_at`); any other record a new
    cursor: ``at`` (epoch seconds, e.g. the time of the change) when that is later than its
    cursor, else one second after it."""
    if not can_move(system, record):
        return None
    if system == "tms":
        return _next_tracker(record)
    cursor = CURSOR_FIELD[system]
    moved = max(int(instant_seconds(record[cursor])) + 1, at or 0)
    return {**record, cursor: wire_time(system, moved)}


def move_on(
    store: SandboxStore, system: str, key: Any, anomaly: str | None = None
) -> dict[str, Any] | None:
    """Change the record ``key`` of ``system`` and upsert it; the new record (None: no such
    record, or a tracker that has reached its end: delivered, returned, cancelled)."""
    record = store.get(system, key)
    changed = None if record is None else next_version(system, record)
    if changed is None:
        return None
    if anomaly is not None:
        changed = ANOMALIES[system][anomaly](changed)
    store.upsert(system, changed)
    return changed


class Movable:
    """The keys of one system's records that can move on, least recently moved first.

    Built once from the store (a scan), then kept by :func:`changes` as it moves records: a
    moved record goes to the back. Records the store gains later (a new round) join when
    :meth:`refresh` sees the store's count change."""

    def __init__(self, store: SandboxStore, system: str, seed: int = 0) -> None:
        self.system, self.lock = system, threading.Lock()
        self.count = store.count(system)
        keys = [r[KEY_FIELD[system]] for r in store.iter_records(system) if can_move(system, r)]
        random.Random(seed).shuffle(keys)
        self.queue: deque[Any] = deque(keys)

    def take(self, count: int) -> list[Any]:
        with self.lock:
            return [self.queue.popleft() for _ in range(min(count, len(self.queue)))]

    def put_back(self, key: Any) -> None:
        with self.lock:
            self.queue.append(key)


_MOVABLE: weakref.WeakKeyDictionary[SandboxStore, dict[str, Movable]] = weakref.WeakKeyDictionary()
_MOVABLE_LOCK = threading.Lock()


def _movable(store: SandboxStore, system: str, seed: int) -> Movable:
    with _MOVABLE_LOCK:
        kept = _MOVABLE.setdefault(store, {})
        pool = kept.get(system)
        if pool is None or pool.count != store.count(system):
            pool = kept[system] = Movable(store, system, seed)
        return pool


def changes(
    store: SandboxStore,
    system: str,
    count: int = 1,
    keys: list[Any] | None = None,
    seed: int = 0,
    anomaly: str | None = None,
) -> list[dict[str, Any]]:
    """Move ``keys`` (or the ``count`` movable records moved least recently) on; what
    changed."""
    pool = _movable(store, system, seed) if keys is None else None
    chosen = keys if pool is None else pool.take(count)
    moved = []
    for key in chosen:
        record = move_on(store, system, key, anomaly)
        if record is None:
            continue
        if pool is not None and can_move(system, record):
            pool.put_back(key)  # an ended tracker (cancelled) leaves the queue
        moved.append(
            {
                "system": system,
                "key": key,
                "cursor": _cursor_text(system, record),
                "order_id": _order_of(system, record),
                "event_at": _event_at(system, record),
            }
        )
    return moved
