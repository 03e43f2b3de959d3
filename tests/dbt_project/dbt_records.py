"""Source records for the dbt project's tests: hand-written records in the four systems'
shapes (docs/sources.md), extraction batches of them, and the raw tables the loader would
store them in. The scenarios built from them are in dbt_scenarios.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

import fulfilment.store as fulfilment_store
import ledger.store as ledger_store
import ml.store as ml_store
from connectors.schema import ensure_schema as ensure_raw_schema
from ledger.canonical import canonical_hash
from orderhub import tracking
from orderhub.live_tables import ensure_live_schema

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
        "SystemModstamp": iso(at(modified)),
        "IsDeleted": False,
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
    "crm": ("raw_crm.fulfillment_orders", "Id", "SystemModstamp"),
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
    """The raw tables, created by the product's own DDL (what the loader writes into)."""
    ensure_raw_schema(conn)


def store_batch(conn: psycopg.Connection, batch: Batch) -> None:
    """The batch's records in their raw table, and the batch in
    orderhub_meta.extraction_batches (succeeded), as the loader leaves them."""
    table, key, cursor = STREAMS[batch.system]
    conn.execute(
        "insert into orderhub_meta.extraction_batches (batch_id, system, stream, started_at,"
        " finished_at, closed_xid, status)"
        " values (%s, %s, %s, %s, %s, pg_current_xact_id(), 'succeeded') on conflict do nothing",
        (batch.batch_id, batch.system, table.split(".")[1], batch.extracted_at, batch.extracted_at),
    )
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
    """The tables ml/ and ledger/ own, which the dbt sources read, the tracking key's
    schema (orderhub.tracking), which the API's roles are granted, and the live path's
    (orderhub.live_tables: the change feed reads its outbox)."""
    ml_store.ensure_schema(conn)
    fulfilment_store.ensure_schema(conn)
    ledger_store.ensure_schema(conn)
    tracking.ensure_schema(conn)
    ensure_live_schema(conn)
