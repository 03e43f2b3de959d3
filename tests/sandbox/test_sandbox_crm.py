"""The CRM app over real HTTP: SOQL, nextRecordsUrl paging, queryAll, batch size, auth, 400s."""

from __future__ import annotations

import re

import httpx
import pytest
from sandbox_paging import (
    MAX_PAGES,
    assert_every_record_once_in_order,
    assert_served_from,
    in_cursor_order,
    nth_cursor,
)

from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

SOQL = (
    "SELECT Id, Status, OrderSummary.OrderNumber, SystemModstamp FROM FulfillmentOrder{where} "
    "ORDER BY SystemModstamp, Id"
)
CURSOR, KEY = "SystemModstamp", "Id"

pytestmark = pytest.mark.timeout(60)


def auth(crm_token: str, batch: int | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {crm_token}"}
    if batch is not None:
        headers["Sforce-Query-Options"] = f"batchSize={batch}"
    return headers


def walk(
    http: httpx.Client,
    sandbox: SandboxServer,
    headers: dict[str, str],
    soql: str,
    resource: str = "query",
) -> list[dict]:
    response = http.get(
        sandbox.base_url("crm") + f"/services/data/v60.0/{resource}",
        params={"q": soql},
        headers=headers,
    )
    rows: list[dict] = []
    total = None
    for _ in range(MAX_PAGES):
        assert response.status_code == 200, response.text
        body = response.json()
        total = body["totalSize"] if total is None else total
        assert body["totalSize"] == total
        rows.extend(body["records"])
        if body["done"]:
            assert "nextRecordsUrl" not in body
            assert len(rows) == total
            return rows
        assert re.fullmatch(
            r"/crm/services/data/v60\.0/query/01g[0-9A-V]+-\d+",
            body["nextRecordsUrl"],
        )
        response = http.get(sandbox.root_url + body["nextRecordsUrl"], headers=headers)
    raise AssertionError(f"paging did not end within {MAX_PAGES} pages")


def test_paging_walks_every_record_once_in_order(
    sandbox: SandboxServer, scenario: Scenario, crm_token: str, http: httpx.Client
) -> None:
    rows = walk(http, sandbox, auth(crm_token, 53), SOQL.format(where=""))
    assert_every_record_once_in_order(rows, scenario.crm_fulfillment_orders(), CURSOR, KEY)
    assert rows[0]["attributes"]["type"] == "FulfillmentOrder"


def test_default_batch_is_2000(sandbox: SandboxServer, crm_token: str, http: httpx.Client) -> None:
    response = http.get(
        sandbox.base_url("crm") + "/services/data/v60.0/query",
        params={"q": SOQL.format(where="")},
        headers=auth(crm_token),
    )
    body = response.json()
    assert len(body["records"]) == min(2000, body["totalSize"])


def test_filter_is_inclusive(
    sandbox: SandboxServer, scenario: Scenario, crm_token: str, http: httpx.Client
) -> None:
    records = scenario.crm_fulfillment_orders()
    since = nth_cursor(records, CURSOR, 300)
    rows = walk(
        http,
        sandbox,
        auth(crm_token, 17),
        SOQL.format(where=f" WHERE SystemModstamp >= {since}"),
    )
    assert_served_from(rows, records, CURSOR, KEY, since)


def test_multiline_lowercase_soql_is_understood(
    sandbox: SandboxServer, crm_token: str, http: httpx.Client
) -> None:
    soql = (
        "select Id,\n  Status\nfrom FulfillmentOrder\n"
        "where SystemModstamp >= 2026-10-20T00:00:00Z\norder by SystemModstamp, Id"
    )
    rows = walk(http, sandbox, auth(crm_token, 5), soql)
    assert rows and all(r["SystemModstamp"] >= "2026-10-20T00:00:00Z" for r in rows)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDo="}],
)
def test_auth_rejected(sandbox: SandboxServer, http: httpx.Client, headers: dict[str, str]) -> None:
    for path in (
        "/services/data/v60.0/query?q=SELECT+Id+FROM+FulfillmentOrder",
        "/services/data/v60.0/queryAll?q=SELECT+Id+FROM+FulfillmentOrder",
        "/services/data/v60.0/query/01g000000000000000-200",
    ):
        response = http.get(sandbox.base_url("crm") + path, headers=headers)
        assert response.status_code == 401
        assert response.json() == [
            {"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}
        ]


@pytest.mark.parametrize(
    ("soql", "named"),
    [
        (None, "q"),
        ("SELECT Id FROM Account", "Account"),
        ("DELETE FROM FulfillmentOrder", "q"),
        ("SELECT Id FROM FulfillmentOrder WHERE Status = 'Draft'", "q"),
        ("SELECT Id FROM FulfillmentOrder WHERE SystemModstamp >= tomorrow", "SystemModstamp"),
    ],
)
def test_malformed_queries_are_400(
    sandbox: SandboxServer,
    crm_token: str,
    http: httpx.Client,
    soql: str | None,
    named: str,
) -> None:
    params = {} if soql is None else {"q": soql}
    response = http.get(
        sandbox.base_url("crm") + "/services/data/v60.0/query",
        params=params,
        headers=auth(crm_token),
    )
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "MALFORMED_QUERY" and named in error["message"]


@pytest.mark.parametrize("size", ["0", "2001", "many"])
def test_bad_batch_size_is_400(
    sandbox: SandboxServer, crm_token: str, http: httpx.Client, size: str
) -> None:
    headers = {**auth(crm_token), "Sforce-Query-Options": f"batchSize={size}"}
    response = http.get(
        sandbox.base_url("crm") + "/services/data/v60.0/query",
        params={"q": SOQL.format(where="")},
        headers=headers,
    )
    assert response.status_code == 400
    assert "batchSize" in response.json()[0]["message"]


def test_bad_locator_is_400(sandbox: SandboxServer, crm_token: str, http: httpx.Client) -> None:
    response = http.get(
        sandbox.base_url("crm") + "/services/data/v60.0/query/nonsense", headers=auth(crm_token)
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_limit_pages_by_next_records_url_and_stops_there(
    sandbox: SandboxServer, scenario: Scenario, crm_token: str, http: httpx.Client
) -> None:
    ordered = in_cursor_order(scenario.crm_fulfillment_orders(), CURSOR, KEY)
    soql = SOQL.format(where="") + " LIMIT 20"
    rows = walk(http, sandbox, auth(crm_token, 7), soql)
    assert [r["Id"] for r in rows] == [r["Id"] for r in ordered[:20]]


def test_a_record_changed_mid_walk_is_served_later_never_skipping_others() -> None:
    """The query locator is a server-side cursor: a change cannot shift the records after it."""
    scenario = Scenario(seed=3, orders=40)
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        form = {"grant_type": "client_credentials", **credentials.for_system("crm")}
        token = client.post(server.base_url("crm") + "/services/oauth2/token", data=form)
        headers = auth(token.json()["access_token"], 5)
        first = client.get(
            server.base_url("crm") + "/services/data/v60.0/query",
            params={"q": SOQL.format(where="")},
            headers=headers,
        ).json()
        moved = dict(first["records"][0], SystemModstamp="2026-12-01T00:00:00Z")
        server.store.upsert("crm", moved)
        rows = list(first["records"])
        url = first.get("nextRecordsUrl")
        while url:
            page = client.get(server.root_url + url, headers=headers).json()
            rows += page["records"]
            url = page.get("nextRecordsUrl")
    ids = [r["Id"] for r in rows]
    assert set(ids) == {r["Id"] for r in scenario.crm_fulfillment_orders()}
    assert ids.count(moved["Id"]) == 2 and rows[-1] == moved


def test_query_all_serves_deleted_records_query_does_not() -> None:
    """Salesforce's queryAll answers records in the recycle bin, ``IsDeleted`` true."""
    scenario = Scenario(seed=3, orders=20)
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        form = {"grant_type": "client_credentials", **credentials.for_system("crm")}
        token = client.post(server.base_url("crm") + "/services/oauth2/token", data=form)
        headers = auth(token.json()["access_token"], 7)
        gone = dict(
            scenario.crm_fulfillment_orders()[0],
            IsDeleted=True,
            SystemModstamp="2026-12-01T00:00:00Z",
        )
        server.store.upsert("crm", gone)
        live = walk(client, server, headers, SOQL.format(where=""))
        every = walk(client, server, headers, SOQL.format(where=""), resource="queryAll")
    assert gone["Id"] not in {r["Id"] for r in live}
    assert every[-1] == gone and len(every) == len(live) + 1
