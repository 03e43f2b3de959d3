"""The ERP app over real HTTP: OData paging by __next, inclusive filter, auth, 400s."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sandbox_paging import (
    MAX_PAGES,
    assert_every_record_once_in_order,
    assert_served_from,
    in_cursor_order,
    nth_cursor,
)

from sandbox.clock import instant_seconds, iso
from sandbox.credentials import SandboxCredentials
from sandbox.push import deletion_message
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.store import sortable

PATH = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
CURSOR, KEY = "LastChangeDateTime", "SalesOrder"

pytestmark = pytest.mark.timeout(60)


def url(sandbox: SandboxServer) -> str:
    return sandbox.base_url("erp") + PATH


def walk(http: httpx.Client, sandbox: SandboxServer, key: str, **params: str) -> list[dict]:
    rows: list[dict] = []
    response = http.get(url(sandbox), params=params, headers={"APIKey": key})
    for _ in range(MAX_PAGES):
        assert response.status_code == 200, response.text
        body = response.json()["d"]
        rows.extend(body["results"])
        if "__next" not in body:
            return rows
        assert body["__next"].startswith(url(sandbox) + "?")
        response = http.get(body["__next"], headers={"APIKey": key})
    raise AssertionError(f"paging did not end within {MAX_PAGES} pages")


def test_paging_walks_every_record_once_in_order(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    rows = walk(
        http,
        sandbox,
        credentials.erp_api_key,
        **{"$format": "json", "$top": "37", "$orderby": "LastChangeDateTime", "$expand": "to_Item"},
    )
    assert_every_record_once_in_order(rows, scenario.erp_sales_orders(), CURSOR, KEY)
    assert len(rows) == len(scenario)


def test_filter_is_inclusive_and_next_keeps_it(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    records = scenario.erp_sales_orders()
    since = nth_cursor(records, CURSOR, len(records) // 2)  # SAP's /Date(ms+0000)/
    # the filter's literal is ISO 8601 (OData V2 URI conventions), the records' /Date()/
    iso = sortable(since)
    assert since.startswith("/Date(") and iso is not None
    condition = f"LastChangeDateTime ge datetimeoffset'{iso}'"
    rows = walk(
        http,
        sandbox,
        credentials.erp_api_key,
        **{"$filter": condition, "$top": "10", "$expand": "to_Item"},
    )
    assert_served_from(rows, records, CURSOR, KEY, since)
    # an offset or a fraction of a second means the same instants
    later = walk(
        http,
        sandbox,
        credentials.erp_api_key,
        **{
            "$filter": f"LastChangeDateTime ge datetimeoffset'{iso[:-1]}.5+00:00'",
            "$top": "1000",
        },
    )
    assert all(r["LastChangeDateTime"] > since for r in later)
    assert len(later) == sum(r["LastChangeDateTime"] > since for r in records)


def test_next_link_carries_the_query(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    condition = "LastChangeDateTime ge datetimeoffset'2026-01-01T00:00:00Z'"
    params = {"$top": "5", "$filter": condition, "$expand": "to_Item", "$format": "json"}
    body = http.get(url(sandbox), params=params, headers={"APIKey": credentials.erp_api_key}).json()
    query = parse_qs(urlsplit(body["d"]["__next"]).query)
    assert query["$skiptoken"] == ["5"] and query["$top"] == ["5"] and "$skip" not in query
    assert query["$filter"] == [condition] and query["$expand"] == ["to_Item"]


def test_inlinecount_counts_what_the_filter_matches_across_pages(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    # OData V2 verbose JSON: "__count" is a string beside "results" (MS-ODATA 2.2.6.3.2.1)
    records = sandbox.store.records("erp")
    since = records[len(records) // 2]["LastChangeDateTime"]
    condition = f"LastChangeDateTime ge datetimeoffset'{sortable(since)}'"
    params = {"$top": "3", "$filter": condition, "$inlinecount": "allpages"}
    headers = {"APIKey": credentials.erp_api_key}
    first = http.get(url(sandbox), params=params, headers=headers).json()["d"]
    following = http.get(first["__next"], headers=headers).json()["d"]
    expected = str(sum(r["LastChangeDateTime"] >= since for r in records))
    assert first["__count"] == following["__count"] == expected
    assert "__count" not in http.get(url(sandbox), headers=headers).json()["d"]
    bad = http.get(url(sandbox), params={"$inlinecount": "some"}, headers=headers)
    assert bad.status_code == 400 and "$inlinecount" in bad.text


def test_default_page_is_100_and_items_are_deferred_unless_expanded(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    body = http.get(url(sandbox), headers={"APIKey": credentials.erp_api_key}).json()["d"]
    assert len(body["results"]) == 100
    first = body["results"][0]
    assert first["to_Item"]["__deferred"]["uri"].endswith(
        f"A_SalesOrder('{first['SalesOrder']}')/to_Item"
    )
    expanded = http.get(
        url(sandbox),
        params={"$expand": "to_Item", "$top": "1"},
        headers={"APIKey": credentials.erp_api_key},
    ).json()["d"]["results"][0]
    assert expanded["to_Item"]["results"][0]["SalesOrder"] == expanded["SalesOrder"]


@pytest.mark.parametrize("headers", [{}, {"APIKey": "wrong"}, {"Authorization": "Bearer x"}])
def test_auth_rejected(sandbox: SandboxServer, http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.get(url(sandbox), headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "401"
    assert body["error"]["message"]["lang"] == "en" and body["error"]["message"]["value"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("$top", "0"),
        ("$top", "1001"),
        ("$top", "ten"),
        ("$skip", "-1"),
        ("$filter", "SalesOrder eq '1000001'"),
        ("$filter", "LastChangeDateTime ge datetimeoffset'yesterday'"),
        ("$orderby", "CreationDate"),
        ("$expand", "to_Partner"),
        ("$format", "xml"),
        ("$select", "NoSuchProperty"),
    ],
)
def test_bad_options_are_400_naming_the_option(
    sandbox: SandboxServer,
    credentials: SandboxCredentials,
    http: httpx.Client,
    name: str,
    value: str,
) -> None:
    response = http.get(
        url(sandbox), params={name: value}, headers={"APIKey": credentials.erp_api_key}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "400" and name in error["message"]["value"]


def test_top_1000_is_allowed(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    response = http.get(
        url(sandbox), params={"$top": "1000"}, headers={"APIKey": credentials.erp_api_key}
    )
    assert response.status_code == 200
    assert len(response.json()["d"]["results"]) == 400
    assert "__next" not in response.json()["d"]


def test_keyset_filter_pages_after_a_position(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    ordered = in_cursor_order(scenario.erp_sales_orders(), CURSOR, KEY)
    pivot = ordered[150]
    at, key = sortable(pivot["LastChangeDateTime"]), pivot["SalesOrder"]
    condition = (
        f"LastChangeDateTime gt datetimeoffset'{at}' or "
        f"(LastChangeDateTime eq datetimeoffset'{at}' and SalesOrder gt '{key}')"
    )
    rows = walk(
        http,
        sandbox,
        credentials.erp_api_key,
        **{"$filter": condition, "$top": "60", "$orderby": "LastChangeDateTime,SalesOrder"},
    )
    assert [r["SalesOrder"] for r in rows] == [r["SalesOrder"] for r in ordered[151:]]
    # a keyset position is a whole second
    fraction = condition.replace(f"'{at}'", f"'{at[:-1]}.5Z'")
    response = http.get(
        url(sandbox), params={"$filter": fraction}, headers={"APIKey": credentials.erp_api_key}
    )
    assert response.status_code == 400 and "whole second" in response.text


def test_select_lists_keys_and_an_order_is_read_by_key(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    # what the key reconciliation reads: $select=SalesOrder, then one order by its key
    headers = {"APIKey": credentials.erp_api_key}
    body = http.get(
        url(sandbox), params={"$select": "SalesOrder", "$top": "5"}, headers=headers
    ).json()["d"]
    assert [set(r) for r in body["results"]] == [{"SalesOrder"}] * 5
    key = body["results"][0]["SalesOrder"]
    one = http.get(f"{url(sandbox)}('{key}')", headers=headers)
    assert one.status_code == 200 and one.json()["d"]["SalesOrder"] == key
    assert http.get(f"{url(sandbox)}('nope')", headers=headers).status_code == 404
    assert http.get(f"{url(sandbox)}('{key}')").status_code == 401


def test_a_deleted_sales_order_is_gone_and_its_deletion_event_is_what_sap_pushes() -> None:
    # DELETE A_SalesOrder('<key>') (204, no body; 404 the second time); the order is no
    # longer served, and the ERP pushes SAP's SalesOrder.Deleted business event
    scenario = Scenario(seed=4, orders=30)
    credentials = SandboxCredentials.generate()
    headers = {"APIKey": credentials.erp_api_key}
    told: list[tuple[str, dict]] = []
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        server.store.deletion_listeners.append(lambda system, r: told.append((system, r)))
        gone = scenario.erp_sales_orders()[3]
        one = f"{server.base_url('erp')}{PATH}('{gone['SalesOrder']}')"
        deleted = client.delete(one, headers=headers)
        assert deleted.status_code == 204 and deleted.content == b""
        assert client.delete(one, headers=headers).status_code == 404
        assert client.delete(one).status_code == 401
        served = walk(client, server, credentials.erp_api_key, **{"$top": "1000"})
    assert gone["SalesOrder"] not in {r["SalesOrder"] for r in served}
    assert len(served) == len(scenario) - 1
    assert told == [("erp", gone)]
    body, pushed = deletion_message("erp", gone, "secret")  # type: ignore[misc]
    assert pushed["ce-type"] == "sap.s4.beh.salesorder.v1.SalesOrder.Deleted.v1"
    assert pushed["ce-time"] == iso(int(instant_seconds(gone["LastChangeDateTime"])) + 1)
    data = json.loads(body)
    assert data["SalesOrder"] == gone["SalesOrder"] and "to_Item" not in data
    assert deletion_message("tms", {"id": "trk_1"}, "secret") is None  # EasyPost pushes none


def test_a_rejected_item_is_served_with_its_reason_and_the_header_follows() -> None:
    # S/4HANA cancels an item with a reason for rejection (A_SalesOrderItem.
    # SalesDocumentRjcnReason): POST /changes {"system": "erp", "anomaly": "rejected_item"}
    # rejects the moved order's first standing item; the header says B, then C once all are
    scenario = Scenario(seed=4, orders=30)
    credentials = SandboxCredentials.generate()
    order = next(o for o in scenario.erp_sales_orders() if len(o["to_Item"]["results"]) > 1)
    key, size = order["SalesOrder"], len(order["to_Item"]["results"])
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        pushed: list[dict] = []
        server.store.listeners.append(lambda system, r: pushed.append(r))

        def reject() -> dict:
            body = {"system": "erp", "keys": [key], "anomaly": "rejected_item"}
            client.post(server.root_url + "/changes", json=body).raise_for_status()
            served = client.get(
                f"{server.base_url('erp')}{PATH}('{key}')",
                headers={"APIKey": credentials.erp_api_key},
            )
            return served.json()["d"]

        first = reject()
        assert (
            client.post(
                server.root_url + "/changes", json={"system": "crm", "anomaly": "rejected_item"}
            ).status_code
            == 400
        )
        for _ in range(size - 1):
            last = reject()
        items = server.store.get("erp", key)["to_Item"]["results"]  # type: ignore[index]
    assert first["OverallSDDocumentRejectionSts"] == "B"
    assert last["OverallSDDocumentRejectionSts"] == "C"
    assert [i.get("SalesDocumentRjcnReason") for i in items] == ["01"] * size
    assert len(pushed) == size  # each rejection is pushed as SAP's Changed event would be
