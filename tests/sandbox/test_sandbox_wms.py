"""The WMS app over real HTTP: cursor paging, inclusive updated_since, auth, 400s."""

from __future__ import annotations

import httpx
import pytest
from sandbox_paging import (
    MAX_PAGES,
    assert_every_record_once_in_order,
    assert_served_from,
    nth_cursor,
)

from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(60)
CURSOR, KEY = "write_date", "id"


def walk(http: httpx.Client, sandbox: SandboxServer, token: str, **params: str) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    for _ in range(MAX_PAGES):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = http.get(
            sandbox.base_url("wms") + "/api/v1/pickings",
            params=query,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows
        assert body["data"], "a page with a next cursor must not be empty"
    raise AssertionError(f"paging did not end within {MAX_PAGES} pages")


def test_paging_walks_every_record_once_in_order(
    sandbox: SandboxServer, scenario: Scenario, wms_token: str, http: httpx.Client
) -> None:
    rows = walk(http, sandbox, wms_token, limit="97")
    assert_every_record_once_in_order(rows, scenario.wms_pickings(), CURSOR, KEY)


def test_default_limit_is_100_and_500_is_allowed(
    sandbox: SandboxServer, wms_token: str, http: httpx.Client
) -> None:
    headers = {"Authorization": f"Bearer {wms_token}"}
    url = sandbox.base_url("wms") + "/api/v1/pickings"
    assert len(http.get(url, headers=headers).json()["data"]) == 100
    assert len(http.get(url, params={"limit": "500"}, headers=headers).json()["data"]) == 500


def test_updated_since_is_inclusive(
    sandbox: SandboxServer, scenario: Scenario, wms_token: str, http: httpx.Client
) -> None:
    records = scenario.wms_pickings()
    since = nth_cursor(records, CURSOR, 700)
    rows = walk(http, sandbox, wms_token, updated_since=since, limit="50")
    assert_served_from(rows, records, CURSOR, KEY, since)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "wrong"}]
)
def test_auth_rejected(sandbox: SandboxServer, http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.get(sandbox.base_url("wms") + "/api/v1/pickings", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid token"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "501"),
        ("limit", "x"),
        ("updated_since", "last week"),
        ("cursor", "garbage!"),
        ("page", "2"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    sandbox: SandboxServer,
    wms_token: str,
    http: httpx.Client,
    name: str,
    value: str,
) -> None:
    response = http.get(
        sandbox.base_url("wms") + "/api/v1/pickings",
        params={name: value},
        headers={"Authorization": f"Bearer {wms_token}"},
    )
    assert response.status_code == 400
    assert name in response.json()["error"]
