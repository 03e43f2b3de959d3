"""What each source system pushes, read into the record its poll would deliver.

Every push becomes a :class:`Pushed`: the sender's event id (what a redelivery repeats) and
either the record of the system's stream - exactly what the connector reads from the API,
top-level nulls left out as airbyte-cdk leaves them out, so a record seen first by push and
later by the poll has one content hash and is one raw row - or the reason it is none (it
is then quarantined with that reason, never dropped).

- ``tms``: an EasyPost ``Event`` (``object: Event``, ``id``, ``description``
  ``tracker.created``/``tracker.updated``, ``result``: the ``Tracker``);
- ``wms``: an Odoo automation-rule webhook: the ``stock.picking`` record's fields with
  ``_model``, ``_id`` and ``_action`` (the event id is model, id and ``write_date``);
- ``crm``: a Salesforce change event for ``FulfillmentOrder`` as a CloudEvent (type
  :data:`CRM_TYPE`), its data the ``ChangeEventHeader`` and the record's fields;
- ``erp``: an SAP S/4HANA business event as a CloudEvent (types :data:`ERP_TYPES`), its
  data the ``A_SalesOrder`` entity as the OData API serves it (items expanded); or
  ``SalesOrder.Deleted`` (:data:`ERP_DELETED_TYPE`), whose data is the order's key and header
  fields: its record is that data, ``LastChangeDateTime`` the event's time (as the OData API
  writes it) and :data:`DELETED_BY` the event type - a version of the order saying it is
  gone, which staging turns into a deletion event (the poll never serves the order again).

CloudEvents arrive in binary mode (``ce-id``, ``ce-type``, ... headers, the data as body)
or structured mode (``Content-Type: application/cloudevents+json``, the event as body),
per the CloudEvents HTTP protocol binding 1.0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.deletions import DELETED_BY_EVENT as DELETED_BY
from connectors.odata import odata_datetime

CRM_TYPE = "com.salesforce.cdc.FulfillmentOrderChangeEvent"
ERP_DELETED_TYPE = "sap.s4.beh.salesorder.v1.SalesOrder.Deleted.v1"
ERP_TYPES = (
    "sap.s4.beh.salesorder.v1.SalesOrder.Created.v1",
    "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1",
    ERP_DELETED_TYPE,
)
TMS_TYPES = ("tracker.created", "tracker.updated")
WMS_MODEL = "stock.picking"


@dataclass(frozen=True)
class Pushed:
    """One pushed event: its id, and its record or why it has none."""

    event_id: str
    record: dict[str, Any] | None
    payload: dict[str, Any]
    reason: str | None = None


def _as_record(value: Mapping[str, Any]) -> dict[str, Any]:
    """The record as airbyte-cdk emits it: top-level null members left out."""
    return {key: item for key, item in value.items() if item is not None}


def _body_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _refused(event_id: str, payload: Any, reason: str) -> Pushed:
    kept = payload if isinstance(payload, dict) else {"body": payload}
    return Pushed(event_id, None, kept, reason)


def _tms(headers: Mapping[str, str], body: Any, raw: bytes) -> Pushed:
    event_id = str(body.get("id") or _body_id(raw))
    if body.get("object") != "Event" or body.get("description") not in TMS_TYPES:
        return _refused(event_id, body, f"unknown EasyPost event {body.get('description')!r}")
    result = body.get("result")
    if not isinstance(result, dict):
        return _refused(event_id, body, "EasyPost event without a Tracker result")
    return Pushed(event_id, _as_record(result), body)


def _wms(headers: Mapping[str, str], body: Any, raw: bytes) -> Pushed:
    model, key = body.get("_model"), body.get("_id")
    event_id = f"{model}/{key}/{body.get('write_date')}" if key is not None else _body_id(raw)
    if model != WMS_MODEL:
        return _refused(event_id, body, f"unknown Odoo model {model!r}")
    return Pushed(event_id, _as_record({k: v for k, v in body.items() if k[:1] != "_"}), body)


def _structured(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/cloudevents+json")


def _cloudevent(headers: Mapping[str, str], body: Any) -> tuple[str | None, str | None, Any]:
    """(id, type, data) of a CloudEvent in binary or structured mode."""
    if _structured(headers):
        return body.get("id"), body.get("type"), body.get("data")
    return headers.get("ce-id"), headers.get("ce-type"), body


def _crm(headers: Mapping[str, str], body: Any, raw: bytes) -> Pushed:
    event_id, kind, data = _cloudevent(headers, body)
    event_id = str(event_id or _body_id(raw))
    if kind != CRM_TYPE or not isinstance(data, dict):
        return _refused(event_id, body, f"unknown CloudEvent type {kind!r} for the CRM")
    record = {k: v for k, v in data.items() if k != "ChangeEventHeader"}
    return Pushed(event_id, _as_record(record), body)


def _erp(headers: Mapping[str, str], body: Any, raw: bytes) -> Pushed:
    event_id, kind, data = _cloudevent(headers, body)
    event_id = str(event_id or _body_id(raw))
    if kind not in ERP_TYPES or not isinstance(data, dict):
        return _refused(event_id, body, f"unknown CloudEvent type {kind!r} for the ERP")
    if kind == ERP_DELETED_TYPE:
        time = body.get("time") if _structured(headers) else headers.get("ce-time")
        changed = odata_datetime(time) if isinstance(time, str) else None
        if changed is None:
            return _refused(event_id, body, "SalesOrder.Deleted event without a valid time")
        data = {**data, "LastChangeDateTime": changed, DELETED_BY: kind}
    return Pushed(event_id, _as_record(data), body)


READERS: dict[str, Callable[[Mapping[str, str], Any, bytes], Pushed]] = {
    "tms": _tms,
    "wms": _wms,
    "crm": _crm,
    "erp": _erp,
}


def read_push(system: str, headers: Mapping[str, str], raw: bytes) -> Pushed:
    """The event ``system`` pushed as ``raw`` (malformed JSON: a refused event)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        text = raw.decode("utf-8", "replace")
        return _refused(headers.get("ce-id") or _body_id(raw), text, f"malformed JSON: {error}")
    if not isinstance(body, dict):
        return _refused(_body_id(raw), body, "the body is no JSON object")
    return READERS[system](headers, body, raw)
