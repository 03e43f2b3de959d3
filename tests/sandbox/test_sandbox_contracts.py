"""The sandbox's answers against what the vendors publish: a recorded EasyPost answer.

``contracts/easypost_trackers_page.json`` is EasyPost's own recording (its Python client's test
cassette, MIT licence, source named in the file) of ``GET /v2/trackers?page_size=5`` and of the
request its client sends for the next page. The sandbox's tracker list must have the same
envelope, its trackers, tracking details and locations the same fields with the same JSON
types (null where the recording has null or a value), and its next page is asked the same
way. The fields the sandbox adds are named here, each a documented departure
(sandbox/README.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from sandbox.credentials import SandboxCredentials
from sandbox.server import SandboxServer

RECORDED = json.loads(
    (Path(__file__).parent / "contracts" / "easypost_trackers_page.json").read_text()
)
#: Fields the sandbox's trackers carry that EasyPost's do not (the order, from the shipment).
ADDED = {"reference"}


def json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, (int, float)) else "null"
    )


def field_types(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    types: dict[str, set[str]] = {}
    for item in objects:
        for name, value in item.items():
            types.setdefault(name, set()).add(json_type(value))
    return types


def assert_fits(served: list[dict[str, Any]], recorded: list[dict[str, Any]], what: str) -> None:
    """Every field served is one EasyPost sends, with a type it sends (null always allowed)."""
    known = field_types(recorded)
    for name, types in field_types(served).items():
        if name in ADDED:
            continue
        assert name in known, f"{what}.{name} is no field of EasyPost's {what}"
        unknown = types - known[name] - {"null"}
        assert not unknown or known[name] == {"null"}, f"{what}.{name}: {unknown} vs {known[name]}"


def test_the_tracker_list_has_easyposts_shape_and_paging(scenario: Any) -> None:
    recorded = RECORDED["response"]
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server, httpx.Client() as http:
        query = dict(parse_qsl(urlsplit(RECORDED["request"]).query))
        url = server.base_url("tms") + urlsplit(RECORDED["request"]).path
        page = http.get(url, params=query, auth=(credentials.tms_api_key, "")).json()
        # the next page, asked as EasyPost's client asks it: before_id = the last tracker's id
        asked = dict(parse_qsl(urlsplit(RECORDED["next_request"]).query))
        assert set(asked) == {"before_id", "page_size"} and asked["before_id"].startswith("trk_")
        following = http.get(
            url,
            params={**asked, "before_id": page["trackers"][-1]["id"]},
            auth=(credentials.tms_api_key, ""),
        ).json()
    assert set(page) == set(recorded) and page["has_more"] is True
    assert len(page["trackers"]) == int(query["page_size"])
    trackers = page["trackers"] + following["trackers"]
    assert_fits(trackers, recorded["trackers"], "Tracker")
    details = [d for t in trackers for d in t["tracking_details"]]
    recorded_details = [d for t in recorded["trackers"] for d in t["tracking_details"]]
    assert_fits(details, recorded_details, "TrackingDetail")
    locations = [d["tracking_location"] for d in details]
    assert_fits(locations, [d["tracking_location"] for d in recorded_details], "TrackingLocation")
    identifier = re.compile(r"^trk_[0-9a-f]{32}$")
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    for tracker in [*recorded["trackers"], *trackers]:
        assert identifier.match(tracker["id"]) and stamp.match(tracker["created_at"])
    # newest first, as EasyPost lists them
    order = [(t["created_at"], t["id"]) for t in trackers]
    assert order == sorted(order, reverse=True)


#: The list parameters EasyPost documents for its trackers, the ones the TMS connector sends:
#: docs.easypost.com/docs/pagination (``before_id``/``after_id``, ``start_datetime``/
#: ``end_datetime``, ``page_size``: "The maximum value is 100") and the Trackers reference,
#: *Retrieve a list of Trackers* (docs.easypost.com/docs/trackers).
DOCUMENTED = {"before_id", "after_id", "start_datetime", "end_datetime", "page_size"}
MAX_PAGE_SIZE = 100


def test_the_tracker_list_takes_easyposts_documented_filters_as_the_connector_sends_them(
    scenario: Any,
) -> None:
    # the TMS connector pages by before_id with start_datetime on every page (its creation
    # window): each page newest first, every tracker created at or after start_datetime,
    # has_more until the last one so created; a page_size over EasyPost's maximum is refused
    credentials = SandboxCredentials.generate()
    created = sorted((t["created_at"], t["id"]) for t in scenario.tms_trackers())
    start = created[len(created) * 3 // 4][0]
    with SandboxServer(scenario, credentials) as server, httpx.Client() as http:
        url, auth = server.base_url("tms") + "/v2/trackers", (credentials.tms_api_key, "")
        too_big = http.get(url, params={"page_size": str(MAX_PAGE_SIZE + 1)}, auth=auth)
        listed: list[dict[str, Any]] = []
        params = {"page_size": str(MAX_PAGE_SIZE), "start_datetime": start}
        assert set(params) <= DOCUMENTED
        while True:
            page = http.get(url, params=params, auth=auth).json()
            listed += page["trackers"]
            if not page["has_more"]:
                break
            params = {**params, "before_id": page["trackers"][-1]["id"]}
            assert set(params) <= DOCUMENTED
    assert too_big.status_code == 400
    assert [(t["created_at"], t["id"]) for t in listed] == [p for p in created if p[0] >= start][
        ::-1
    ]
