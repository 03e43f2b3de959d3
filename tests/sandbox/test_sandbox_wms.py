"""The WMS app over real HTTP: Odoo's JSON-RPC (``common.authenticate``, ``execute_kw``
``search_read`` / ``search_count`` on ``stock.picking``), domains on write_date and id,
keyset paging, Odoo's error answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from odoo_calls import after, rpc, search_read
from sandbox_paging import MAX_PAGES, assert_every_record_once_in_order, nth_cursor

from sandbox.apis.wms import DATABASE, UID
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(60)
CURSOR, KEY = "write_date", "id"


def walk(http: httpx.Client, base_url: str, key: str, domain: list[Any], limit: int) -> list[dict]:
    rows: list[dict] = []
    for _ in range(MAX_PAGES):
        where = domain if not rows else [*domain, *after(rows[-1])]
        response = search_read(http, base_url, key, where, limit=limit)
        assert response.status_code == 200, response.text
        page = response.json()["result"]
        if not page:
            return rows
        rows.extend(page)
    raise AssertionError(f"paging did not end within {MAX_PAGES} pages")


def test_keyset_paging_walks_every_picking_once_in_order(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    rows = walk(http, sandbox.base_url("wms"), credentials.wms_api_key, [], 37)
    assert_every_record_once_in_order(rows, scenario.wms_pickings(), CURSOR, KEY)
    assert " " in rows[0]["write_date"] and "T" not in rows[0]["write_date"]  # Odoo's form


def test_a_domain_on_write_date_is_inclusive_and_counts(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    records = scenario.wms_pickings()
    since = nth_cursor(records, CURSOR, 200)
    domain = [["write_date", ">=", since]]
    rows = walk(http, sandbox.base_url("wms"), credentials.wms_api_key, domain, 50)
    assert rows[0][CURSOR] == since
    assert {r["id"] for r in rows} == {r["id"] for r in records if r[CURSOR] >= since}
    args = [DATABASE, UID, credentials.wms_api_key, "stock.picking", "search_count", [domain]]
    count = rpc(http, sandbox.base_url("wms"), "object", "execute_kw", *args).json()
    assert count["result"] == len(rows)
    # any other domain is evaluated too: a scan, in the same order
    outs = [["picking_type_code", "=", "OUT"], ["state", "!=", "cancel"]]
    served = search_read(http, sandbox.base_url("wms"), credentials.wms_api_key, outs, limit=500)
    expected = [r for r in records if r["picking_type_code"] == "OUT" and r["state"] != "cancel"]
    assert {r["id"] for r in served.json()["result"]} == {r["id"] for r in expected}


def test_fields_offset_and_authenticate(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    url, key = sandbox.base_url("wms"), credentials.wms_api_key
    page = search_read(http, url, key, [], fields=["name", "state"], limit=3, offset=2).json()
    assert [set(r) for r in page["result"]] == [{"id", "name", "state"}] * 3
    assert rpc(http, url, "common", "authenticate", DATABASE, "admin", key, {}).json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": UID,
    }
    assert (
        rpc(http, url, "common", "authenticate", DATABASE, "admin", "no", {}).json()["result"]
        is False
    )
    assert rpc(http, url, "common", "version").json()["result"]["server_version"]


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ([DATABASE, UID, "wrong", "stock.picking", "search_read", [[]]], "AccessDenied"),
        (["other", UID, None, "stock.picking", "search_read", [[]]], "AccessDenied"),
        ([DATABASE, 3, None, "stock.picking", "search_read", [[]]], "AccessDenied"),
        ([DATABASE, UID, None, "res.partner", "search_read", [[]]], "KeyError"),
        ([DATABASE, UID, None, "stock.picking", "unlink", [[1]]], "AttributeError"),
        ([DATABASE, UID, None, "stock.picking", "search_read", [[["write_date", ">=", "x"]]]],
         "ValueError"),
        ([DATABASE, UID, None, "stock.picking", "search_read", [["|", ["id", ">", 1]]]],
         "ValueError"),
        ([DATABASE, UID, None, "stock.picking", "search_read", [[]], {"order": "name"}],
         "ValueError"),
    ],
)  # fmt: skip
def test_errors_come_as_odoo_sends_them(
    sandbox: SandboxServer,
    credentials: SandboxCredentials,
    http: httpx.Client,
    args: list[Any],
    name: str,
) -> None:
    args = [credentials.wms_api_key if a is None else a for a in args]
    response = rpc(http, sandbox.base_url("wms"), "object", "execute_kw", *args)
    assert response.status_code == 200  # Odoo answers its errors with HTTP 200
    error = response.json()["error"]
    assert error["code"] == 200 and error["message"] == "Odoo Server Error"
    assert name in error["data"]["name"] and error["data"]["message"]


def test_an_update_mid_walk_moves_the_picking_behind_the_position() -> None:
    scenario = Scenario(seed=4, orders=30)
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        url, key = server.base_url("wms"), credentials.wms_api_key
        first = search_read(client, url, key, [], limit=5).json()["result"]
        moved = dict(first[0], state="done", write_date="2026-12-01 00:00:00")
        server.store.upsert("wms", moved)
        rows = first + walk(client, url, key, after(first[-1]), 5)
    assert [r["id"] for r in rows].count(moved["id"]) == 2 and rows[-1] == moved
    assert {r["id"] for r in rows} == {r["id"] for r in scenario.wms_pickings()}
