"""A deleted order's audit proof: the deletion reaches the bundle and both verifiers.

An SAP sales order deleted at the source (the record the live receiver makes of SAP's
``SalesOrder.Deleted`` business event) and a Salesforce fulfillment order deleted at the
source (queryAll serves it with ``IsDeleted`` true) are loaded, logged, built and
checkpointed for real (``audit_warehouse.build``). Each order's trace must verify offline
with ``orderhub audit verify``'s verifier and with the tracking site's JavaScript one (under
Node), and the status both re-derive from the proved records must be the one ``/orders``
serves (``api.orders``): the deletion flags the order as a problem, it never disappears.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from audit_warehouse import ERP_V1, AuditWarehouse, at, build

from ledger.bundle import verify_bundle
from orderhub.audit import trace_order
from orderhub.live.receivers import read_push
from orderhub.warehouse import scratch_database
from sandbox.push import deletion_message

SAP_DELETED = "SO-3001"
CRM_DELETED = "SO-3002"
VERIFY_JS = (
    Path(__file__).resolve().parents[2] / "orderhub" / "site" / "static" / "audit" / "verify.js"
)


def _sap_deleted_record() -> dict[str, Any]:
    order = {**ERP_V1, "SalesOrder": SAP_DELETED, "LastChangeDateTime": at(1)}
    message = deletion_message("erp", order, "secret")
    assert message is not None
    body, headers = message
    record = read_push("erp", headers, body).record
    assert record is not None and record["_deleted_by_event"].endswith("SalesOrder.Deleted.v1")
    return record


def _fulfillment_order(deleted: bool) -> dict[str, Any]:
    modified = at(3 if deleted else 2)
    return {
        "attributes": {"type": "FulfillmentOrder"},
        "Id": "0a3000000000000001",
        "FulfillmentOrderNumber": "FO-0000001",
        "Status": "Allocated",
        "OrderSummary": {"attributes": {"type": "OrderSummary"}, "OrderNumber": CRM_DELETED},
        "FulfilledFromLocation": {"attributes": {"type": "Location"}, "Name": "WH1"},
        "CreatedDate": at(1.5),
        "LastModifiedDate": at(2),
        "SystemModstamp": modified,
        "IsDeleted": deleted,
    }


LOADS = [
    (
        "erp",
        [
            {**ERP_V1, "SalesOrder": SAP_DELETED, "LastChangeDateTime": at(1)},
            {**ERP_V1, "SalesOrder": CRM_DELETED, "LastChangeDateTime": at(1)},
        ],
        at(1.5),
    ),
    ("crm", [_fulfillment_order(False)], at(2.5)),
    ("erp", [_sap_deleted_record()], at(3.5)),
    ("crm", [_fulfillment_order(True)], at(4)),
]


@pytest.fixture(scope="module")
def deleted(pg_server: str, server_home: Callable[[str], Path]) -> Iterator[AuditWarehouse]:
    home = server_home("audit-deleted")
    try:
        with scratch_database(pg_server, prefix="audit_deleted") as url:
            yield build(url, home, LOADS)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _served_status(warehouse: AuditWarehouse, order: str) -> str:
    with psycopg.connect(warehouse.url) as conn:
        row = conn.execute(
            "select canonical_status from api.orders where order_id = %s", (order,)
        ).fetchone()
    assert row is not None, f"/orders serves no {order}"
    return str(row[0])


def _verify_in_javascript(bundle: dict[str, Any], warehouse: AuditWarehouse, tmp: Path) -> Any:
    node = shutil.which("node")
    assert node, "node is installed by ./dev.sh (npm packages)"
    path = tmp / "bundle.json"
    path.write_text(json.dumps(bundle))
    script = (
        f"const {{ verifyBundle }} = await import({json.dumps(VERIFY_JS.as_uri())});"
        f"const bundle = JSON.parse(require('fs').readFileSync({json.dumps(str(path))}));"
        f"const r = await verifyBundle(bundle, {json.dumps(warehouse.log_key)},"
        f" [{json.dumps(warehouse.witness_key)}]);"
        "console.log(JSON.stringify({ok: r.ok, error: r.error ?? null, last: r.checked.at(-1)}));"
    )
    run = subprocess.run(
        [node, "--input-type=commonjs", "-e", f"(async () => {{ {script} }})()"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(run.stdout)


@pytest.mark.parametrize(
    ("order", "field", "code"),
    [
        (SAP_DELETED, "SalesOrder.Deleted", "true"),
        (CRM_DELETED, "FulfillmentOrder.IsDeleted", "true"),
    ],
)
def test_a_deleted_order_is_proved_with_the_status_orders_serves(
    deleted: AuditWarehouse, tmp_path: Path, order: str, field: str, code: str
) -> None:
    with psycopg.connect(deleted.url) as conn:
        bundle = trace_order(conn, order)
    rows = [e["row"] for e in bundle["events"]]
    deletion = [r for r in rows if r["source_field"] == field]
    assert [(r["source_code"], r["canonical_status"]) for r in deletion] == [(code, "problem")]
    claim = bundle["claim"]["order"]
    served = _served_status(deleted, order)
    assert served == "problem"
    assert claim["canonical_status"] == served
    assert claim["status_event_id"] == deletion[0]["event_id"]

    report = verify_bundle(bundle, deleted.log_key, witness_keys=[deleted.witness_key])
    assert report.checked[-1].startswith(f"claim: order {order} is {served}")

    result = _verify_in_javascript(bundle, deleted, tmp_path)
    assert result["ok"], result
    assert result["last"].startswith(f"claim: order {order} is {served}")
