"""The TMS app over real HTTP: EasyPost's tracker list, newest first, paged by before_id (and
after_id), created_at bounds, deletion, Basic auth, 400s."""

from __future__ import annotations

import json

import httpx
import pytest
from sandbox_paging import MAX_PAGES

from sandbox.changes import SCAN_INTERVAL, can_move, next_scan_at
from sandbox.credentials import SandboxCredentials
from sandbox.push import message
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(60)


def newest_first(records: list[dict]) -> list[dict]:
    """EasyPost's list order: by creation, newest first (ties by id)."""
    return sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)


def walk(http: httpx.Client, base_url: str, key: str, **params: str) -> list[dict]:
    rows: list[dict] = []
    for _ in range(MAX_PAGES):
        query = dict(params)
        if rows:
            query.update(before_id=rows[-1]["id"])
        response = http.get(base_url + "/v2/trackers", params=query, auth=(key, ""))
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["trackers"])
        if not body["has_more"]:
            return rows
        assert body["trackers"]
    raise AssertionError(f"paging did not end within {MAX_PAGES} pages")


def test_paging_by_before_id_walks_every_tracker_once_newest_first(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    rows = walk(http, sandbox.base_url("tms"), credentials.tms_api_key, page_size="29")
    assert rows == newest_first(scenario.tms_trackers())


def test_page_sizes(
    sandbox: SandboxServer, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    url = sandbox.base_url("tms") + "/v2/trackers"
    assert len(http.get(url, auth=(credentials.tms_api_key, "")).json()["trackers"]) == 20
    full = http.get(url, params={"page_size": "100"}, auth=(credentials.tms_api_key, "")).json()
    assert len(full["trackers"]) == 100 and full["has_more"] is True


def test_after_id_lists_the_newer_ones_and_datetimes_bound_creation(
    sandbox: SandboxServer, scenario: Scenario, credentials: SandboxCredentials, http: httpx.Client
) -> None:
    ordered = newest_first(scenario.tms_trackers())
    url, key = sandbox.base_url("tms") + "/v2/trackers", (credentials.tms_api_key, "")
    pivot = ordered[50]
    newer = http.get(url, params={"after_id": pivot["id"], "page_size": "7"}, auth=key).json()
    assert newer["trackers"] == ordered[43:50] and newer["has_more"] is True
    start, end = ordered[80]["created_at"], ordered[20]["created_at"]
    bounded = walk(http, sandbox.base_url("tms"), key[0], start_datetime=start, end_datetime=end)
    assert bounded == [r for r in ordered if start <= r["created_at"] < end]


def test_an_update_mid_walk_shifts_nothing_and_a_deleted_tracker_is_gone() -> None:
    scenario = Scenario(seed=4, orders=40)
    credentials = SandboxCredentials.generate()
    key = credentials.tms_api_key
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        url = server.base_url("tms") + "/v2/trackers"
        first = client.get(url, params={"page_size": "5"}, auth=(key, "")).json()["trackers"]
        updated = dict(first[0], updated_at="2026-12-01T00:00:00Z", status="delivered")
        server.store.upsert("tms", updated)
        gone = first[-1]["id"]
        # retrieve a tracker (EasyPost's GET /v2/trackers/<id>): what the key reconciliation
        # confirms a deletion with
        assert client.get(f"{url}/{gone}", auth=(key, "")).json() == first[-1]
        assert client.get(f"{url}/{gone}").status_code == 401
        deleted = client.delete(f"{url}/{gone}", auth=(key, ""))
        assert deleted.status_code == 200 and deleted.json() == {"success": True}
        assert client.delete(f"{url}/{gone}", auth=(key, "")).status_code == 404
        assert client.get(f"{url}/{gone}", auth=(key, "")).status_code == 404
        rest = walk(client, server.base_url("tms"), key, page_size="5", before_id=gone)
        whole = walk(client, server.base_url("tms"), key, page_size="5")
    expected = [r for r in newest_first(scenario.tms_trackers()) if r["id"] != gone]
    assert [updated, *first[1:-1], *rest] == [
        updated if r["id"] == updated["id"] else r for r in expected
    ]
    assert gone not in {r["id"] for r in whole} and updated in whole


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
        ("start_datetime", "soon"),
        ("before_id", "trk_nope"),
        ("after_id", "trk_nope"),
        ("updated_at_min", "2026-10-01T00:00:00Z"),
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


def test_a_cancelled_tracker_is_served_and_pushed_with_easyposts_cancelled_status() -> None:
    # EasyPost's Tracker status "cancelled" is how a tracker ends without a delivery: the
    # sandbox's POST /changes with "anomaly": "cancelled" cancels one; it is listed and pushed
    # (tracker.updated) as any update, and moves on no more
    scenario = Scenario(seed=4, orders=40)
    credentials = SandboxCredentials.generate()
    key = credentials.tms_api_key
    with SandboxServer(scenario, credentials) as server, httpx.Client() as client:
        pushed: list[dict] = []
        server.store.listeners.append(lambda system, r: pushed.append(r))
        (moved,) = client.post(
            server.root_url + "/changes",
            json={"system": "tms", "count": 1, "anomaly": "cancelled"},
        ).json()["changed"]
        listed = walk(client, server.base_url("tms"), key, page_size="50")
        again = client.post(server.root_url + "/changes", json={"system": "tms",
                            "keys": [moved["key"]], "anomaly": "cancelled"}).json()  # fmt: skip
        pushed_before = list(pushed)
        # the trackers picked by count, least recently moved first: the cancelled one has
        # left the queue, so every request moves as many as it asks, none of them it
        movable = sum(can_move("tms", r) for r in server.store.records("tms"))
        later = [
            client.post(
                server.root_url + "/changes", json={"system": "tms", "count": movable}
            ).json()["changed"]
            for _ in range(2)
        ]
    (tracker,) = [r for r in listed if r["id"] == moved["key"]]
    assert tracker["status"] == "cancelled"
    assert tracker["tracking_details"][-1]["status"] == "cancelled"
    assert tracker["tracking_details"][-1]["datetime"] == moved["event_at"]
    assert pushed_before == [tracker]
    body = json.loads(message("tms", tracker, "secret")[0])
    assert body["description"] == "tracker.updated" and body["result"]["status"] == "cancelled"
    assert again == {"changed": []}  # a cancelled tracker has ended
    assert [len(changed) for changed in later] == [movable, movable]
    assert moved["key"] not in {c["key"] for changed in later for c in changed}


def test_a_moved_tracker_is_never_scanned_after_the_wall_clock() -> None:
    """A tracker's next detail comes an hour after its last, but a carrier reports no scan
    from the future: near the clock it comes at the clock, and past it one second on."""
    now = 1_800_000_000
    assert next_scan_at(now - 7200, now) == now - 7200 + SCAN_INTERVAL
    assert next_scan_at(now - 60, now) == now
    assert next_scan_at(now + 30, now) == now + 31
