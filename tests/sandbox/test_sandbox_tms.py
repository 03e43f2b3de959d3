"""The TMS app over real HTTP: keyset paging (updated_at_min + after_id of the last tracker),
inclusive updated_at_min, Basic auth, 400s."""

from __future__ import annotations

import httpx
import pytest
from sandbox_paging import (
    MAX_PAGES,
    assert_every_record_once_in_order,
    assert_served_from,
    nth_cursor,
)

from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(60)
CURSOR, KEY = "updated_at", "id"


def walk(http: httpx.Client, sandbox: SandboxServer, key: str, **params: str) -> list[dict]:
    rows: list[dict] = []
    for _ in range(MAX_PAGES):
        query = dict(params)
        if rows:
            query.update(updated_at_min=rows[-1]["updated_at"], after_id=rows[-1]["id"])
        response = http.get(sandbox.base_url("tms") + "/v2/trackers", params=query, auth=(key, ""))
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["trackers"])
        if not body["has_more"]:
            return rows
        assert body["trackers"]
    raise AssertionError(f"paging did not end within {MAX_PAGES} pages")


def test_paging_walks_every_record_once_in_order(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    rows = walk(http, sandbox, credentials.tms_api_key, page_size="29")
    assert_every_record_once_in_order(rows, scenario.tms_trackers(), CURSOR, KEY)


def test_page_sizes(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    url = sandbox.base_url("tms") + "/v2/trackers"
    assert len(http.get(url, auth=(credentials.tms_api_key, "")).json()["trackers"]) == 20
    full = http.get(url, params={"page_size": "100"}, auth=(credentials.tms_api_key, "")).json()
    assert len(full["trackers"]) == 100 and full["has_more"] is True


def test_updated_at_min_is_inclusive(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    records = scenario.tms_trackers()
    since = nth_cursor(records, CURSOR, 250)
    rows = walk(http, sandbox, credentials.tms_api_key, updated_at_min=since, page_size="7")
    assert_served_from(rows, records, CURSOR, KEY, since)


@pytest.mark.parametrize(
    "auth",
    [None, ("wrong", ""), ("right", "a password"), "bearer"],
)
def test_auth_rejected(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client, auth: object
) -> None:
    url = sandbox.base_url("tms") + "/v2/trackers"
    if auth == "bearer":
        response = http.get(url, headers={"Authorization": f"Bearer {credentials.tms_api_key}"})
    elif isinstance(auth, tuple) and auth[0] == "right":
        response = http.get(url, auth=(credentials.tms_api_key, auth[1]))
    else:
        response = http.get(url, auth=auth)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "APIKEY.INACTIVE"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page_size", "0"),
        ("page_size", "101"),
        ("page_size", "x"),
        ("updated_at_min", "soon"),
        ("after_id", "trk_nope"),
        ("limit", "5"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    sandbox: SandboxServer,
    credentials: SandboxCredentials,
    http: httpx.Client,
    name: str,
    value: str,
) -> None:
    response = http.get(
        sandbox.base_url("tms") + "/v2/trackers",
        params={name: value},
        auth=(credentials.tms_api_key, ""),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "PARAMETER.INVALID" and name in error["message"]
    assert error["errors"][0]["field"] == name
