"""Helpers for the connector tests: stub records, stub configs, and warehouse read-backs."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
import rfc8785
from fake_apis import FakeApis

from connectors.config import source_config

STUB_CREDENTIALS = {
    "erp": "erp-key-0123456789",
    "crm": "crm-token-0123456789",
    "wms": "wms-token-0123456789",
    "tms": "tms-key-0123456789",
}
SECRET_FIELD = {"erp": "api_key", "crm": "access_token", "wms": "access_token", "tms": "api_key"}


def _ts(i: int) -> str:
    return f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}Z"


def stub_records(count: int = 45) -> dict[str, list[dict[str, Any]]]:
    """A few records per system shaped like docs/sources.md (floats, nesting, `false`)."""
    return {
        "erp": [
            {
                "SalesOrder": str(1000001 + i),
                "LastChangeDateTime": _ts(i),
                "TotalNetAmount": f"{i * 3}.50",
                "OverallTotalDeliveryStatus": "",
                "to_Item": {"results": [{"SalesOrderItem": "10", "Material": "SKU-00é"}]},
            }
            for i in range(count)
        ],
        "crm": [
            {
                "attributes": {"type": "FulfillmentOrder", "url": f"/x/{i}"},
                "Id": f"0a3{i:015d}",
                "LastModifiedDate": _ts(i),
                "OrderSummary": {"OrderNumber": str(1000001 + i)},
            }
            for i in range(count)
        ],
        "wms": [
            {
                "id": i + 1,
                "write_date": _ts(i),
                "date_done": False,
                "location_id": [8, "WH1/Stock"],
                "move_ids": [{"product": "SKU-001", "quantity": 2.0}, {"quantity": 0.5}],
            }
            for i in range(count)
        ],
        "tms": [
            {"id": f"trk_{i:032x}", "updated_at": _ts(i), "signed_by": None} for i in range(count)
        ],
    }


def stub_config(apis: FakeApis, system: str, **options: Any) -> dict[str, Any]:
    """The connector config of ``system`` pointing at the stub, with fast retries."""
    options.setdefault("page_size", 10)
    options.setdefault("backoff_factor", 0.05)
    options.setdefault("max_retries", 3)
    secret = options.pop("secret", STUB_CREDENTIALS[system])
    return source_config(system, apis.base_url(system), {SECRET_FIELD[system]: secret}, **options)


def reference_hash(record: dict[str, Any]) -> str:
    """The content hash computed with the ``rfc8785`` reference, independently of the loader."""
    return hashlib.sha256(rfc8785.dumps(record)).hexdigest()


def raw_rows(db_url: str, table: str) -> set[tuple[str, str]]:
    """The (record_key, content_hash) pairs of a raw table."""
    with psycopg.connect(db_url) as conn:
        return set(conn.execute(f"select record_key, content_hash from {table}").fetchall())


def stored_state(db_url: str, system: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "select stream, state from orderhub_meta.connector_state where system = %s", (system,)
        ).fetchall()
    return dict(rows)


def batches(db_url: str, system: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "select status, records_read, records_new, cursor_from, cursor_to, merkle_root"
            " from orderhub_meta.extraction_batches where system = %s order by started_at",
            (system,),
        ).fetchall()
