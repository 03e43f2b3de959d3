"""Write-back to the source systems: replenishment pickings in the WMS, carrier capacity
reservations in the TMS - idempotently, each one a provenance leaf.

Every request carries an ``Idempotency-Key`` made from what it is about, not from when it
runs: ``replenishment:<warehouse>:<sku>:<day>`` and ``capacity:<carrier>:<warehouse>:<day>``.
A re-run on the same day sends the same keys: the systems answer the first result again and
create nothing twice; a key already answered with a success in ``fulfilment.writebacks`` is
not sent again at all. A key the system refuses because the body changed (409: the same day's
plan moved) is recorded, not retried with another key. Each write-back that created something
appends one ``fulfilment_writeback`` event to the provenance log (the target, the key, the
SHA-256 of the request body as RFC 8785 JSON, the HTTP status and the id created); its leaf
index is kept beside the row.

The connection details are the connector configs (``base_url``, the WMS's and the TMS's
``api_key``) the caller hands over; the WMS's key goes as a bearer token to the sandbox's
replenishment route (Odoo itself would take an ``execute_kw`` ``create``: not done yet).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from ledger.canonical import canonical_json
from ledger.log import ProvenanceLog
from orderhub.provenance import WRITEBACK_EVENT

TARGET_PATHS = {
    "wms_replenishment": "/api/v1/stock.picking/replenishment",
    "tms_capacity": "/v2/capacity_reservations",
}


@dataclass(frozen=True)
class WriteRequest:
    """One write-back: the target, its idempotency key and its body."""

    target: str
    key: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a write-back did: ``created``, ``replayed``, ``skipped`` (known) or ``refused``."""

    key: str
    target: str
    result: str
    http_status: int | None
    created_id: str | None
    leaf_index: int | None


def replenishment_request(warehouse: str, sku: str, quantity: float, day: str) -> WriteRequest:
    """The WMS replenishment picking for ``quantity`` of ``sku`` into ``warehouse`` on ``day``."""
    key = f"replenishment:{warehouse}:{sku}:{day}"
    body = {"warehouse": warehouse, "product": sku, "quantity": quantity,
            "scheduled_date": day, "origin": key}  # fmt: skip
    return WriteRequest("wms_replenishment", key, body)


def capacity_request(carrier: str, warehouse: str, day: str, parcels: int) -> WriteRequest:
    """The TMS capacity reservation of ``parcels`` with ``carrier`` at ``warehouse`` on ``day``."""
    key = f"capacity:{carrier}:{warehouse}:{day}"
    body = {"carrier": carrier, "warehouse": warehouse, "date": day, "parcels": parcels}
    return WriteRequest("tms_capacity", key, body)


def _wms_auth(config: Mapping[str, Any]) -> dict[str, str]:
    """The WMS connector's Odoo API key as a bearer token (the sandbox's write-back route)."""
    return {"Authorization": f"Bearer {config['api_key']}"}


def _known(conn: psycopg.Connection[Any], key: str) -> tuple[int | None, str | None] | None:
    row = conn.execute(
        "select http_status, response ->> 'id' from fulfilment.writebacks"
        " where idempotency_key = %s and http_status between 200 and 299",
        (key,),
    ).fetchone()
    return (row[0], row[1]) if row else None


def write_back(
    conn: psycopg.Connection[Any],
    log: ProvenanceLog | None,
    requests: list[WriteRequest],
    configs: Mapping[str, Mapping[str, Any]],
    http: httpx.Client | None = None,
) -> list[Outcome]:
    """Send ``requests`` (``configs``: the ``wms`` and ``tms`` connector configs)."""
    client = http or httpx.Client(timeout=30)
    headers: dict[str, dict[str, str]] = {}
    outcomes = []
    try:
        for request in requests:
            known = _known(conn, request.key)
            if known is not None:
                outcomes.append(
                    Outcome(request.key, request.target, "skipped", known[0], known[1], None)
                )
                continue
            outcomes.append(_send(conn, log, client, request, configs, headers))
    finally:
        if http is None:
            client.close()
    return outcomes


def _send(
    conn: psycopg.Connection[Any],
    log: ProvenanceLog | None,
    client: httpx.Client,
    request: WriteRequest,
    configs: Mapping[str, Mapping[str, Any]],
    headers: dict[str, dict[str, str]],
) -> Outcome:
    system = request.target.split("_")[0]
    config = configs[system]
    auth: Any = None
    if system == "wms":
        headers.setdefault("wms", _wms_auth(config))
    else:
        auth = (config["api_key"], "")
    response = client.post(
        config["base_url"] + TARGET_PATHS[request.target],
        json=request.body,
        headers={**headers.get(system, {}), "Idempotency-Key": request.key},
        auth=auth,
    )
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    created = response.status_code == 201
    result = "created" if created else "replayed" if response.is_success else "refused"
    leaf = None
    if created and log is not None:
        leaf = log.append_event(WRITEBACK_EVENT, {
            "target": request.target, "idempotency_key": request.key,
            "request_sha256": hashlib.sha256(canonical_json(request.body)).hexdigest(),
            "http_status": response.status_code, "created_id": str(body.get("id")),
        })  # fmt: skip
    conn.execute(
        "insert into fulfilment.writebacks (idempotency_key, target, request, response,"
        " http_status, leaf_index) values (%s, %s, %s, %s, %s, %s)"
        " on conflict (idempotency_key) do update set response = excluded.response,"
        " http_status = excluded.http_status,"
        " leaf_index = coalesce(fulfilment.writebacks.leaf_index, excluded.leaf_index)",
        (request.key, request.target, Jsonb(request.body), Jsonb(body), response.status_code, leaf),
    )
    conn.commit()
    created_id = str(body["id"]) if "id" in body else None
    return Outcome(request.key, request.target, result, response.status_code, created_id, leaf)
