"""The shape of each system's record (docs/sources.md), written once.

Every scenario renders its records through these builders: the generated one
(:mod:`sandbox.records`, from an order's steps) and the messy one
(:mod:`sandbox.messy`, from hand-written record versions). Each returns a fresh dict as
the API puts it on the wire; times are epoch seconds, rendered as ISO 8601 UTC. The
generated TMS tracker alone is written in one pass in :mod:`sandbox.trackers` (its CPU is
what a TMS page costs), held to the shape of :func:`tracker` and :func:`tracking_detail` by
tests/sandbox/test_sandbox_tms_build.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orderhub.vocabularies import FINANCIAL_STATUS_FIELD
from sandbox.catalog import CUSTOMERS_LOCATION, WAREHOUSES, Place
from sandbox.clock import iso, odata, odoo

Record = dict[str, Any]

CRM_API = "/crm/services/data/v60.0"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: Hours after creation each picking type is scheduled for.
_SCHEDULED_AFTER: dict[str, int] = {"PICK": 1, "PACK": 3, "OUT": 6}


def base62(number: int, width: int) -> str:
    """``number`` in base 62 (Salesforce id alphabet), left-padded with zeros to ``width``."""
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce-style id: 3-character key prefix, pod, sequence."""
    return f"{prefix}Wt00000{base62(number, 8)}"


def cents(amount: int) -> str:
    """Cents as a string decimal with two places (``12345`` → ``"123.45"``)."""
    return f"{amount // 100}.{amount % 100:02d}"


#: Salesforce ``Location`` ids of the warehouses.
LOCATION_IDS: dict[str, str] = {
    code: salesforce_id("131", n) for n, code in enumerate(sorted(WAREHOUSES), start=1)
}


@dataclass(frozen=True, slots=True)
class Line:
    """One sales order item: item number ("10", ...), SKU, units, net amount in cents."""

    item: str
    sku: str
    quantity: int
    net_cents: int


@dataclass(frozen=True, slots=True)
class SalesOrderHead:
    """What an ERP sales order says that its status versions do not change."""

    order_id: str
    channel: str
    customer: str
    store: str
    region: str
    ship_to: Place
    created: int
    lines: tuple[Line, ...]


def sales_order(
    head: SalesOrderHead,
    *,
    changed: int,
    process: str,
    delivery: str,
    rejection: str,
    financial: str,
) -> Record:
    """The ``A_SalesOrder`` entity with ``to_Item`` expanded; codes are sent as given."""
    return {
        "SalesOrder": head.order_id,
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "DistributionChannel": "10" if head.channel == "web" else "20",
        "SoldToParty": head.customer,
        "SalesOffice": head.store,
        "SalesDistrict": head.region,
        "ShipToCountry": head.ship_to.country,
        "ShipToRegion": head.ship_to.region,
        "CreationDate": odata(head.created, None),  # Edm.DateTime
        "LastChangeDateTime": odata(changed),  # Edm.DateTimeOffset
        "TotalNetAmount": cents(sum(line.net_cents for line in head.lines)),
        "TransactionCurrency": "EUR",
        "OverallSDProcessStatus": process,
        "OverallTotalDeliveryStatus": delivery,
        "OverallSDDocumentRejectionSts": rejection,
        FINANCIAL_STATUS_FIELD: financial,
        "to_Item": {
            "results": [
                {
                    "SalesOrder": head.order_id,
                    "SalesOrderItem": line.item,
                    "Material": line.sku,
                    "RequestedQuantity": str(line.quantity),
                    "NetAmount": cents(line.net_cents),
                }
                for line in head.lines
            ]
        },
    }


def _sobject(kind: str, record_id: str) -> dict[str, str]:
    return {"type": kind, "url": f"{CRM_API}/sobjects/{kind}/{record_id}"}


def fulfillment_order(
    number: int,
    order_ref: str | None,
    status: str,
    *,
    warehouse: str,
    method: str,
    country: str,
    created: int,
    modified: int,
) -> Record:
    """The ``FulfillmentOrder``; ``order_ref`` None sends no ``OrderSummary`` (null)."""
    record_id = salesforce_id("0a3", number)
    summary: Record | None = None
    if order_ref is not None:
        summary_id = salesforce_id("1Os", int(order_ref) if order_ref.isdigit() else number)
        summary = {"attributes": _sobject("OrderSummary", summary_id), "OrderNumber": order_ref}
    location_id = LOCATION_IDS[warehouse]
    return {
        "attributes": _sobject("FulfillmentOrder", record_id),
        "Id": record_id,
        "FulfillmentOrderNumber": f"FO-{number:07d}",
        "Status": status,
        "OrderSummary": summary,
        "FulfilledFromLocation": {
            "attributes": _sobject("Location", location_id),
            "Name": warehouse,
        },
        "DeliveryMethod": method,
        "FulfilledToCountryCode": country,
        "CreatedDate": iso(created),
        "LastModifiedDate": iso(modified),
        "SystemModstamp": iso(modified),
        "IsDeleted": False,
    }


#: Each picking type's route: (source, destination) location per warehouse.
def _route(type_code: str, warehouse: str) -> tuple[list[Any], list[Any]]:
    place = WAREHOUSES[warehouse]
    stock = [place.stock_location, f"{warehouse}/Stock"]
    pack_zone = [place.pack_location, f"{warehouse}/Pack Zone"]
    output = [place.output_location, f"{warehouse}/Output"]
    routes = {
        "PICK": (stock, pack_zone),
        "PACK": (pack_zone, output),
        "OUT": (output, list(CUSTOMERS_LOCATION)),
    }
    return routes[type_code]


@dataclass(frozen=True, slots=True)
class PickingHead:
    """What an Odoo picking says that its state versions do not change.

    ``group`` is the procurement group ``[id, name]`` of the delivery the picking belongs
    to (PICK, PACK and OUT of one parcel share it); None leaves ``group_id`` out.
    """

    picking_id: int
    type_code: str
    number: int
    warehouse: str
    created: int
    moves: tuple[tuple[str, int], ...]
    group: tuple[int, str] | None = None


def picking(
    head: PickingHead,
    *,
    origin: str | None,
    state: str,
    written: int,
    done: int | None,
    tracking_ref: str | None = None,
) -> Record:
    """The ``stock.picking``; an empty ``origin``, date or tracking reference is ``false``,
    as Odoo sends it. ``carrier_tracking_ref`` is sent once a group is given (real Odoo
    always has the field; the generated scenario leaves both out)."""
    source, destination = _route(head.type_code, head.warehouse)
    record: Record = {
        "id": head.picking_id,
        "name": f"{head.warehouse}/{head.type_code}/{head.number:05d}",
        "origin": origin if origin is not None else False,
        "picking_type_code": head.type_code,
        "state": state,
        "location_id": list(source),
        "location_dest_id": list(destination),
        "warehouse": head.warehouse,
        "scheduled_date": odoo(head.created + _SCHEDULED_AFTER[head.type_code] * 3600),
        "date_done": odoo(done) if done is not None else False,
        "create_date": odoo(head.created),
        "write_date": odoo(written),
        "move_ids": [{"product": sku, "quantity": float(units)} for sku, units in head.moves],
    }
    if head.group is not None:
        record["group_id"] = list(head.group)
        record["carrier_tracking_ref"] = tracking_ref if tracking_ref is not None else False
    return record


def tracking_location(place: Place) -> Record:
    """The ``TrackingLocation`` of a place."""
    return {
        "object": "TrackingLocation",
        "city": place.city,
        "state": place.region,
        "country": place.country,
        "zip": place.zip,
    }


def tracking_detail(
    at: int, status: str, status_detail: str, message: str, carrier: str, place: Place
) -> Record:
    """One ``TrackingDetail`` of a tracker."""
    return {
        "object": "TrackingDetail",
        "message": message,
        "status": status,
        "status_detail": status_detail,
        "datetime": iso(at),
        "source": carrier,
        "tracking_location": tracking_location(place),
    }


@dataclass(frozen=True, slots=True)
class TrackerHead:
    """What an EasyPost tracker says that its versions do not change."""

    tracker_id: str
    tracking_code: str
    carrier: str
    created: int
    est_delivery: int | None


def tracker(
    head: TrackerHead,
    *,
    reference: str | None,
    details: Sequence[Record],
    updated: str,
    signed_by: str | None,
) -> Record:
    """The ``Tracker``; its status is the latest detail's in time, wherever it sits.
    ``reference`` None sends it as null (the connector then leaves it out)."""
    last = max(details, key=lambda detail: detail["datetime"])
    return {
        "id": head.tracker_id,
        "object": "Tracker",
        "mode": "test",
        "tracking_code": head.tracking_code,
        "carrier": head.carrier,
        "reference": reference,
        "status": last["status"],
        "status_detail": last["status_detail"],
        "created_at": iso(head.created),
        "updated_at": updated,
        "est_delivery_date": None if head.est_delivery is None else iso(head.est_delivery),
        "signed_by": signed_by,
        "tracking_details": list(details),
    }


__all__ = [
    "LOCATION_IDS",
    "Line",
    "PickingHead",
    "SalesOrderHead",
    "TrackerHead",
    "base62",
    "cents",
    "fulfillment_order",
    "picking",
    "sales_order",
    "salesforce_id",
    "tracker",
    "tracking_detail",
    "tracking_location",
]
