"""The WMS's stock over real HTTP: Odoo's stock.quant and stock.warehouse by JSON-RPC
search_read (paged by (write_date, id) as the connector pages), and the idempotent
write-backs (replenishment pickings in the WMS, capacity reservations in the TMS)."""

from __future__ import annotations

import httpx
import pytest
from odoo_calls import after, search_read

from sandbox.clock import ODOO_PATTERN
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.stock import CHILLED_SKUS, SITES

pytestmark = pytest.mark.timeout(60)


def _read(http: httpx.Client, base: str, key: str, model: str, limit: int = 500) -> list[dict]:
    """Every record of ``model`` by search_read, paged by (write_date, id) as the connector."""
    rows: list[dict] = []
    domain: list = [["write_date", ">=", "2020-01-01 00:00:00"]]
    while True:
        answer = search_read(http, base, key, domain, model=model, limit=limit)
        assert answer.status_code == 200 and "result" in answer.json(), answer.text
        page = answer.json()["result"]
        if not page:
            return rows
        rows += page
        domain = after(page[-1])


def test_quants_are_stock_quant_shaped_and_respect_the_cold_chain(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    base = sandbox.base_url("wms")
    quants = _read(http, base, credentials.wms_api_key, "stock.quant", limit=5)
    assert len({q["id"] for q in quants}) == len(quants) > 10
    cold = {site.code for site in SITES if site.cold_chain}
    for quant in quants:
        assert set(quant) >= {
            "product_id",
            "location_id",
            "quantity",
            "reserved_quantity",
            "write_date",
        }
        assert ODOO_PATTERN.match(quant["write_date"])  # Odoo's datetime, UTC
        assert quant["quantity"] >= quant["reserved_quantity"] >= 0
        if quant["product_id"][1] in CHILLED_SKUS:
            assert quant["warehouse_id"][1] in cold
    assert any(q["reserved_quantity"] > 0 for q in quants)


def test_warehouses_carry_coordinates_cold_chain_and_locations(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    rows = _read(http, sandbox.base_url("wms"), credentials.wms_api_key, "stock.warehouse")
    assert sorted(r["code"] for r in rows) == ["WH1", "WH2", "WH3"]
    assert all(-90 <= r["partner_latitude"] <= 90 and len(r["location_ids"]) == 3 for r in rows)
    assert {r["code"]: r["x_cold_chain"] for r in rows} == {"WH1": True, "WH2": False, "WH3": True}


def test_stock_follows_the_pickings(
    scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    with SandboxServer(scenario, credentials) as server:  # its own: this test changes pickings
        base, key = server.base_url("wms"), credentials.wms_api_key
        before = _read(http, base, key, "stock.quant")
        picking = server.store.records("wms")[-1]
        server.store.upsert("wms", {**picking, "write_date": "2030-01-01 00:00:00"})
        after_change = _read(http, base, key, "stock.quant")
        assert {q["id"] for q in after_change} == {q["id"] for q in before}
        assert {q["write_date"] for q in after_change} == {"2030-01-01 00:00:00"}


def test_stock_needs_the_api_key(sandbox: SandboxServer, http: httpx.Client) -> None:
    answer = search_read(http, sandbox.base_url("wms"), "wrong", [], model="stock.quant")
    assert answer.json()["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"


def test_write_backs_are_idempotent(
    scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    with SandboxServer(scenario, credentials) as server:  # its own: this test writes
        bearer = {"Authorization": f"Bearer {credentials.wms_api_key}"}
        url = server.base_url("wms") + "/api/v1/stock.picking/replenishment"
        body = {
            "warehouse": "WH1",
            "product": "SKU-001",
            "quantity": 12,
            "scheduled_date": "2026-12-08",
        }
        first = http.post(url, json=body, headers={**bearer, "Idempotency-Key": "k1"})
        again = http.post(url, json=body, headers={**bearer, "Idempotency-Key": "k1"})
        other = http.post(
            url, json={**body, "quantity": 5}, headers={**bearer, "Idempotency-Key": "k1"}
        )
        assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
        assert first.json()["id"] == again.json()["id"] and again.json()["replayed"]
        assert first.json()["location_dest_id"] == [8, "WH1/Stock"]
        assert len(http.get(url, headers=bearer).json()["data"]) == 1
        assert http.post(url, json=body, headers={"Idempotency-Key": "k2"}).status_code == 401
        assert http.post(url, json=body, headers=bearer).status_code == 400
        tms = server.base_url("tms") + "/v2/capacity_reservations"
        auth = (credentials.tms_api_key, "")
        booking = {"carrier": "DHL", "warehouse": "WH2", "date": "2026-12-09", "parcels": 40}
        made = [
            http.post(tms, json=booking, auth=auth, headers={"Idempotency-Key": "c1"})
            for _ in range(2)
        ]
        assert [m.status_code for m in made] == [201, 200]
        assert len(http.get(tms, auth=auth).json()["data"]) == 1
