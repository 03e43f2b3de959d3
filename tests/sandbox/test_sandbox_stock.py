"""The WMS's stock over real HTTP: stock.quant and stock.warehouse pages, and the idempotent
write-backs (replenishment pickings in the WMS, capacity reservations in the TMS)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.stock import CHILLED_SKUS, SITES

pytestmark = pytest.mark.timeout(60)


def _get(http: httpx.Client, url: str, token: str, **params: str) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = http.get(url, params=query, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        rows += response.json()["data"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return rows


def test_quants_are_stock_quant_shaped_and_respect_the_cold_chain(
    sandbox: SandboxServer, wms_token: str, http: httpx.Client
) -> None:
    quants = _get(http, sandbox.base_url("wms") + "/api/v1/stock.quant", wms_token, limit="5")
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
        assert quant["quantity"] >= quant["reserved_quantity"] >= 0
        if quant["product_id"][1] in CHILLED_SKUS:
            assert quant["warehouse_id"][1] in cold
    assert any(q["reserved_quantity"] > 0 for q in quants)


def test_warehouses_carry_coordinates_cold_chain_and_locations(
    sandbox: SandboxServer, wms_token: str, http: httpx.Client
) -> None:
    rows = _get(http, sandbox.base_url("wms") + "/api/v1/stock.warehouse", wms_token)
    assert [r["code"] for r in rows] == ["WH1", "WH2", "WH3"]
    assert all(-90 <= r["partner_latitude"] <= 90 and len(r["location_ids"]) == 3 for r in rows)
    assert {r["code"]: r["x_cold_chain"] for r in rows} == {"WH1": True, "WH2": False, "WH3": True}


def test_stock_needs_a_token(sandbox: SandboxServer, http: httpx.Client) -> None:
    assert http.get(sandbox.base_url("wms") + "/api/v1/stock.quant").status_code == 401


def test_write_backs_are_idempotent(
    scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    with SandboxServer(scenario, credentials) as server:  # its own: this test writes
        form = {"grant_type": "client_credentials", **credentials.for_system("wms")}
        token = http.post(server.base_url("wms") + "/api/v1/oauth/token", data=form).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
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
        assert len(_get(http, url, token["access_token"])) == 1
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
