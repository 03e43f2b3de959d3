"""Move the sandbox's world on, one change at a time: what pushes are made of.

:func:`move_on` changes one record of a system the way that system would and upserts it
(the store's listeners push it): a TMS tracker gets a new tracking detail one hour after its
last, alternating between ``in_transit`` and ``failure`` (each a canonical status change);
a WMS picking, a CRM fulfillment order or an ERP sales order gets a new version (its cursor
one second on). ``POST /changes`` on the sandbox's root URL (``{"system": "tms", "count":
n}`` or ``{"system": "tms", "keys": [...]}``) calls it and answers what changed. With
``"anomaly": "unknown_code"`` a moved tracker's new detail carries a status code no
crosswalk knows (``unknown_live_<n>``): an anomaly injected at the source, for the cases'
tests and bench. With ``"anomaly": "cancelled"`` the moved tracker is cancelled instead: its
new detail and its status are ``cancelled``, the way EasyPost documents a tracker that ends
without a delivery (the ``Tracker`` object's ``status`` values); it is pushed as any update
(``tracker.updated``) and never moves again.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from sandbox.clock import instant_seconds, iso, parse_instant
from sandbox.store import CURSOR_FIELD, KEY_FIELD, SandboxStore, sortable, wire_time

#: A tracker in one of these statuses has ended: it moves on no more.
ENDED_TRACKER_STATUSES = ("delivered", "return_to_sender", "cancelled")
#: The statuses a moved tracker alternates between (both non-terminal, different canonically).
TRACKER_STATUSES = ("in_transit", "failure")


def _next_tracker(record: dict[str, Any]) -> dict[str, Any]:
    details = list(record.get("tracking_details") or [])
    last = max(details, key=lambda d: d["datetime"]) if details else None
    at = int(parse_instant(last["datetime"] if last else record["updated_at"])) + 3600
    status = (
        TRACKER_STATUSES[1] if record.get("status") == TRACKER_STATUSES[0] else TRACKER_STATUSES[0]
    )
    detail = copy.deepcopy(last) if last else {"object": "TrackingDetail"}
    detail.update({"status": status, "status_detail": "status_update", "datetime": iso(at)})
    detail["message"] = f"{status.replace('_', ' ')} (live)"
    updated = iso(max(at, int(parse_instant(record["updated_at"])) + 1))
    return {
        **record,
        "status": status,
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


def move_on(
    store: SandboxStore, system: str, key: Any, anomaly: str | None = None
) -> dict[str, Any] | None:
    """Change the record ``key`` of ``system`` and upsert it; the new record (None: no such)."""
    record = store.get(system, key)
    if record is None:
        return None
    if system == "tms":
        if record.get("status") == "cancelled":
            return None  # a cancelled tracker has ended
        changed = _next_tracker(record)
        if "delivered" in {d["status"] for d in changed["tracking_details"]}:
            return None  # a delivered tracker stays delivered
        if anomaly is not None:
            changed = TRACKER_ANOMALIES[anomaly](changed)
    else:
        cursor = CURSOR_FIELD[system]
        changed = {**record, cursor: wire_time(system, int(instant_seconds(record[cursor])) + 1)}
    store.upsert(system, changed)
    return changed


def movable(store: SandboxStore, system: str) -> list[Any]:
    """Keys of ``system``'s records that can move on (trackers not yet delivered)."""
    keys = []
    for record in store.records(system):
        if system == "tms" and record.get("status") in ENDED_TRACKER_STATUSES:
            continue
        keys.append(record[KEY_FIELD[system]])
    return keys


def changes(
    store: SandboxStore,
    system: str,
    count: int = 1,
    keys: list[Any] | None = None,
    seed: int = 0,
    anomaly: str | None = None,
) -> list[dict[str, Any]]:
    """Move ``keys`` (or ``count`` random movable records) on; what changed."""
    chosen = (
        keys
        if keys is not None
        else random.Random(seed).sample(
            movable(store, system), k=min(count, len(movable(store, system)))
        )
    )
    moved = []
    for key in chosen:
        record = move_on(store, system, key, anomaly)
        if record is not None:
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
