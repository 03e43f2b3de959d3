"""Source records for the dbt project's tests: hand-written records in the four systems'
shapes (docs/sources.md), the raw tables the loader would store them in, and the
scenarios the builds load.

- ``main_batches()``: nine orders covering the happy path, arrival out of event-time
  order, an ERP cancellation at a tie, a terminal conflict, a regression after delivery,
  a delivery abroad, a web order shipped unpaid and an order stuck on hold;
  ``EXPECTED_STATUS`` is what they imply.
- ``unknown_batches()``: the same plus one WMS state the crosswalk lacks;
  ``UNKNOWN_ROW`` is the crosswalk row that maps it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

import ledger.store as ledger_store
import ml.store as ml_store
from ledger.canonical import canonical_hash

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- source records


def erp_order(
    order_id: str,
    *,
    changed: float,
    process: str,
    delivery: str,
    rejection: str,
    created: float = 0,
    store: str = "S01",
    region: str = "NORTH",
    country: str = "DE",
    channel: str = "10",
    items: tuple[tuple[str, str], ...] = (("SKU-001", "1"),),
    financial: str | None = None,
) -> dict[str, Any]:
    """An A_SalesOrder record with to_Item expanded (docs/sources.md, erp); ``financial``
    is the web shop's payment status in YY1_ShopFinancialStatus_SDH (absent when None)."""
    lines = [
        {
            "SalesOrder": order_id,
            "SalesOrderItem": str(10 * (n + 1)),
            "Material": sku,
            "RequestedQuantity": quantity,
            "NetAmount": f"{10 * float(quantity):.2f}",
        }
        for n, (sku, quantity) in enumerate(items)
    ]
    record = {
        "SalesOrder": order_id,
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "DistributionChannel": channel,
        "SoldToParty": f"C{order_id[-5:]}",
        "SalesOffice": store,
        "SalesDistrict": region,
        "ShipToCountry": country,
        "ShipToRegion": "BE" if country == "DE" else "",
        "CreationDate": iso(at(created)),
        "LastChangeDateTime": iso(at(changed)),
        "TotalNetAmount": f"{sum(float(line['NetAmount']) for line in lines):.2f}",
        "TransactionCurrency": "EUR",
        "OverallSDProcessStatus": process,
        "OverallTotalDeliveryStatus": delivery,
        "OverallSDDocumentRejectionSts": rejection,
        "to_Item": {"results": lines},
    }
    if financial is not None:
        record["YY1_ShopFinancialStatus_SDH"] = financial
    return record


def crm_fulfillment_order(
    number: int, order_id: str, status: str, *, modified: float, location: str = "WH1"
) -> dict[str, Any]:
    """A Salesforce FulfillmentOrder record (docs/sources.md, crm)."""
    record_id = f"0a3{number:015d}"
    return {
        "attributes": {
            "type": "FulfillmentOrder",
            "url": f"/services/data/v60.0/sobjects/FulfillmentOrder/{record_id}",
        },
        "Id": record_id,
        "FulfillmentOrderNumber": f"FO-{number:07d}",
        "Status": status,
        "OrderSummary": {"attributes": {"type": "OrderSummary"}, "OrderNumber": order_id},
        "FulfilledFromLocation": {"attributes": {"type": "Location"}, "Name": location},
        "DeliveryMethod": "Standard",
        "FulfilledToCountryCode": "DE",
        "CreatedDate": iso(at(modified - 0.5)),
        "LastModifiedDate": iso(at(modified)),
    }


def wms_picking(
    picking_id: int,
    order_id: str,
    type_code: str,
    state: str,
    *,
    written: float,
    warehouse: str = "WH1",
) -> dict[str, Any]:
    """An Odoo stock.picking record (docs/sources.md, wms)."""
    destination = "Partners/Customers" if type_code == "OUT" else f"{warehouse}/Output"
    return {
        "id": picking_id,
        "name": f"{warehouse}/{type_code}/{picking_id:05d}",
        "origin": order_id,
        "picking_type_code": type_code,
        "state": state,
        "location_id": [1, f"{warehouse}/Stock"],
        "location_dest_id": [2, destination],
        "warehouse": warehouse,
        "scheduled_date": iso(at(written - 1)),
        "date_done": iso(at(written)) if state == "done" else False,
        "create_date": iso(at(written - 1)),
        "write_date": iso(at(written)),
        "move_ids": [{"product": "SKU-001", "quantity": 1.0}],
    }


def tms_tracker(
    number: int, order_id: str, details: list[tuple[str, float, str, str]]
) -> dict[str, Any]:
    """An EasyPost Tracker with its tracking details so far: (status, hours, city, country)."""
    tracking_details = [
        {
            "object": "TrackingDetail",
            "message": status.replace("_", " "),
            "status": status,
            "status_detail": "arrived_at_destination" if status == "delivered" else "status_update",
            "datetime": iso(at(hours)),
            "source": "UPS",
            "tracking_location": {
                "object": "TrackingLocation",
                "city": city,
                "state": None,
                "country": country,
                "zip": None,
            },
        }
        for status, hours, city, country in details
    ]
    last_status, last_hours = details[-1][0], details[-1][1]
    return {
        "id": f"trk_{number:032x}",
        "object": "Tracker",
        "mode": "test",
        "tracking_code": f"1Z{number:016d}",
        "carrier": "UPS",
        "reference": order_id,
        "status": last_status,
        "status_detail": tracking_details[-1]["status_detail"],
        "created_at": iso(at(details[0][1])),
        "updated_at": iso(at(last_hours)),
        "est_delivery_date": None,
        "signed_by": None,
        "tracking_details": tracking_details,
    }


def trk(number: int) -> str:
    return f"trk_{number:032x}"


# ---------------------------------------------------------------- raw tables

STREAMS = {
    "erp": ("raw_erp.sales_orders", "SalesOrder", "LastChangeDateTime"),
    "crm": ("raw_crm.fulfillment_orders", "Id", "LastModifiedDate"),
    "wms": ("raw_wms.pickings", "id", "write_date"),
    "tms": ("raw_tms.trackers", "id", "updated_at"),
}


@dataclass
class Batch:
    """Records one extraction batch of one system stored, as the loader does; the batch
    id is derived from system and time, so two databases loaded alike are equal."""

    system: str
    extracted_at: datetime
    records: list[dict[str, Any]]
    batch_id: str = ""

    def __post_init__(self) -> None:
        if not self.batch_id:
            name = f"{self.system}/{self.extracted_at.isoformat()}"
            self.batch_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def create_raw_tables(conn: psycopg.Connection) -> None:
    for table, _, _ in STREAMS.values():
        schema = table.split(".")[0]
        conn.execute(f"create schema if not exists {schema}")
        conn.execute(
            f"""
            create table {table} (
                record_key text not null,
                content_hash text not null,
                data jsonb not null,
                cursor_value text,
                batch_id text not null,
                extracted_at timestamptz not null,
                primary key (record_key, content_hash)
            )
            """
        )


def store_batch(conn: psycopg.Connection, batch: Batch) -> None:
    table, key, cursor = STREAMS[batch.system]
    for record in batch.records:
        conn.execute(
            f"insert into {table} values (%s, %s, %s, %s, %s, %s) on conflict do nothing",
            (
                str(record[key]),
                canonical_hash(record),
                Jsonb(record),
                str(record[cursor]),
                batch.batch_id,
                batch.extracted_at,
            ),
        )


def create_ml_and_ledger_tables(conn: psycopg.Connection) -> None:
    """The tables ml/ and ledger/ own, which the dbt sources read."""
    ml_store.ensure_schema(conn)
    ledger_store.ensure_schema(conn)


# ---------------------------------------------------------------- the scenarios

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
