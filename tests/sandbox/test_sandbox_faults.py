"""The sandbox's fault layer over real HTTP: the spec, the seed, and what each fault serves.

Each fault is checked at the HTTP level here (status, headers, body, connection); what the
connectors make of them is in tests/connectors/test_connector_faults.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from odoo_calls import search_read

from sandbox.credentials import SandboxCredentials
from sandbox.faults import ENV_FAULTS, ENV_SEED, Fault, FaultPlan, FaultSpecError
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(60)

ERP = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
TMS = "/v2/trackers"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(seed=3, orders=40)


@pytest.fixture(scope="module")
def credentials() -> SandboxCredentials:
    return SandboxCredentials.generate()


class Faulty:
    """A sandbox with a fault plan and clients for it."""

    def __init__(self, scenario: Scenario, credentials: SandboxCredentials, spec: str) -> None:
        self.credentials = credentials
        self.server = SandboxServer(scenario, credentials, faults=FaultPlan.parse(spec, 3))
        self.http = httpx.Client(timeout=10)

    @property
    def plan(self) -> FaultPlan:
        return self.server.faults

    def erp(self, **params: str) -> httpx.Response:
        headers = {"APIKey": self.credentials.erp_api_key}
        return self.http.get(self.server.base_url("erp") + ERP, params=params, headers=headers)

    def wms(self, limit: str = "100") -> httpx.Response:
        url, key = self.server.base_url("wms"), self.credentials.wms_api_key
        return search_read(self.http, url, key, [], limit=int(limit))

    def tms(self, **params: str) -> httpx.Response:
        auth = (self.credentials.tms_api_key, "")
        return self.http.get(self.server.base_url("tms") + TMS, params=params, auth=auth)


@pytest.fixture
def faulty(scenario: Scenario, credentials: SandboxCredentials) -> Iterator[Any]:
    started: list[Faulty] = []

    def start(spec: str) -> Faulty:
        sandbox = Faulty(scenario, credentials, spec)
        sandbox.server.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.http.close()
        sandbox.server.stop()


# ---------------------------------------------------------------------------------- spec


def test_spec_entries_triggers_and_defaults() -> None:
    faults = FaultPlan.parse(
        "erp:429@3, crm:503@2x3,wms:drop=0.25,tms:timeout:2@4,crm:expire,erp:rename:A/B", 5
    ).faults
    assert faults == [
        Fault("erp", "429", "1", at=3),
        Fault("crm", "503", None, at=2, burst=3),
        Fault("wms", "drop", None, rate=0.25),
        Fault("tms", "timeout", "2", at=4),
        Fault("crm", "expire"),
        Fault("erp", "rename", "A/B"),
    ]
    assert [str(f) for f in faults] == [
        "erp:429:1@3",
        "crm:503@2x3",
        "wms:drop=0.25",
        "tms:timeout:2@4",
        "crm:expire",
        "erp:rename:A/B",
    ]
    assert [n for n in range(1, 8) if faults[1].fires(5, n)] == [2, 3, 4]
    assert all(faults[4].fires(5, n) for n in range(1, 5))


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("erp", "expected system:kind"),
        ("pos:429", "unknown system 'pos'"),
        ("erp:418", "unknown kind '418'"),
        ("erp:drop:3", "drop takes no argument"),
        ("erp:new_field", "new_field needs an argument"),
        ("erp:rename:OnlyOld", "rename takes old/new"),
        ("erp:expire@1", "only crm use expiring tokens"),
        ("erp:503=1.5", "a probability is in (0, 1]"),
        ("erp:503@0", "start at 1"),
        ("erp:429:soon@1", "429 takes a number"),
        ("erp:offset:2h", "offset takes a UTC offset"),
    ],
)
def test_bad_entries_are_named(spec: str, named: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        FaultPlan.parse(spec)
    assert named in str(caught.value)


def test_probabilistic_faults_depend_on_the_seed_and_request_only() -> None:
    fault = Fault("wms", "drop", rate=0.3)
    hits = [n for n in range(1, 2001) if fault.fires(11, n)]
    assert hits == [n for n in range(1, 2001) if fault.fires(11, n)]
    assert hits != [n for n in range(1, 2001) if fault.fires(12, n)]
    assert 500 < len(hits) < 700


def test_the_plan_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_FAULTS, "tms:500@1")
    monkeypatch.setenv(ENV_SEED, "99")
    plan = FaultPlan.from_env()
    assert (plan.faults, plan.seed) == ([Fault("tms", "500", at=1)], 99)
    server = SandboxServer(Scenario(orders=1), SandboxCredentials.generate())
    assert server.faults.faults == plan.faults
    monkeypatch.delenv(ENV_FAULTS)
    assert not FaultPlan.from_env()


# ------------------------------------------------------------------------------ transport


def test_429_carries_retry_after_in_the_systems_error_shape(faulty: Any) -> None:
    sandbox = faulty("erp:429:7@2")
    assert sandbox.erp().status_code == 200
    limited = sandbox.erp()
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert limited.json()["error"]["code"] == "429"
    assert sandbox.erp().status_code == 200
    assert sandbox.plan.fired == {"erp": [(2, "429")]}


def test_a_burst_of_server_errors(faulty: Any) -> None:
    sandbox = faulty("tms:502@2x2,tms:500@5")
    statuses = [sandbox.tms().status_code for _ in range(6)]
    assert statuses == [200, 502, 502, 200, 500, 200]
    assert sandbox.tms().status_code == 200


@pytest.mark.parametrize("kind", ["drop", "timeout:0.3"])
def test_a_page_cut_in_the_middle(faulty: Any, kind: str) -> None:
    sandbox = faulty(f"wms:{kind}@1")
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        sandbox.wms()
    if kind.startswith("timeout"):
        assert time.monotonic() - started >= 0.3
    assert sandbox.wms().status_code == 200


def test_a_stalled_page_times_out_a_patient_client(faulty: Any) -> None:
    sandbox = faulty("tms:timeout:2@1")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        sandbox.http.get(
            sandbox.server.base_url("tms") + TMS,
            auth=(sandbox.credentials.tms_api_key, ""),
            timeout=httpx.Timeout(10, read=0.5),
        )
    assert time.monotonic() - started < 1.5


# ----------------------------------------------------------------------------------- body


def test_malformed_and_missing_key_pages(faulty: Any) -> None:
    sandbox = faulty("erp:malformed@1,erp:missing_key@2")
    broken = sandbox.erp()
    assert broken.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(broken.content)
    missing = sandbox.erp(**{"$top": "5"}).json()
    assert set(missing) == {"d"} and set(missing["d"]) == {"__next"}
    assert len(sandbox.erp(**{"$top": "5"}).json()["d"]["results"]) == 5


def test_duplicates_repeat_the_end_of_the_previous_page(faulty: Any) -> None:
    sandbox = faulty("tms:duplicates:2@2")
    first = sandbox.tms(page_size="5").json()["trackers"]
    last = first[-1]
    second = sandbox.tms(page_size="5", before_id=last["id"])
    trackers = second.json()["trackers"]
    assert trackers[:2] == first[-2:] and len(trackers) == 7


def test_shuffle_serves_a_page_out_of_cursor_order(faulty: Any) -> None:
    sandbox = faulty("wms:shuffle")
    served = sandbox.wms(limit="40").json()
    dates = [(r["write_date"], r["id"]) for r in served["result"]]
    assert dates != sorted(dates) and len(dates) == 40
    again = faulty("wms:shuffle").wms(limit="40").json()
    assert served == again  # same seed, same request: same order


def test_short_asks_for_half_the_page_size_and_more_follow(faulty: Any) -> None:
    sandbox = faulty("tms:short@1,erp:short@1,crm:short@1")
    trackers = sandbox.tms(page_size="10").json()
    assert len(trackers["trackers"]) == 5 and trackers["has_more"] is True
    orders = sandbox.erp(**{"$top": "8"}).json()["d"]
    assert len(orders["results"]) == 4 and orders["__next"].endswith("$top=4&$skiptoken=4")
    token = sandbox.server.issuers["crm"].issue()
    query = "SELECT Id FROM FulfillmentOrder ORDER BY SystemModstamp, Id LIMIT 7"
    answer = sandbox.http.get(
        sandbox.server.base_url("crm") + "/services/data/v60.0/query",
        params={"q": query},
        headers={"Authorization": f"Bearer {token}", "Sforce-Query-Options": "batchSize=6"},
    ).json()
    assert len(answer["records"]) == 3 and answer["done"] is False
    assert sandbox.plan.count("crm", "short") == 1


def test_schema_rewrites_and_their_log(faulty: Any) -> None:
    sandbox = faulty("erp:new_field:ZZ1_Priority,erp:rename:SalesDistrict/Region@1")
    page = sandbox.erp(**{"$top": "3"}).json()["d"]["results"]
    assert all(r["ZZ1_Priority"].startswith("sandbox-") for r in page)
    assert all("Region" in r and "SalesDistrict" not in r for r in page)
    assert sandbox.plan.rewritten["erp"] == {r["SalesOrder"]: r for r in page}
    later = sandbox.erp(**{"$top": "3"}).json()["d"]["results"]
    assert all("SalesDistrict" in r and "ZZ1_Priority" in r for r in later)
    original = sandbox.server.store.get("erp", page[0]["SalesOrder"])
    assert original is not None and "ZZ1_Priority" not in original  # the source is unchanged
    assert sandbox.plan.served_version("erp", original)["ZZ1_Priority"] == page[0]["ZZ1_Priority"]


def test_offset_writes_every_timestamp_in_another_utc_offset(faulty: Any) -> None:
    sandbox = faulty("tms:offset:-05:30")
    (tracker,) = sandbox.tms(page_size="1").json()["trackers"]
    original = sandbox.server.store.get("tms", tracker["id"])
    assert original is not None and original["updated_at"].endswith("Z")
    assert tracker["updated_at"].endswith("-05:30") and tracker["created_at"].endswith("-05:30")
    moment = datetime.fromisoformat(tracker["updated_at"])
    assert moment == datetime.fromisoformat(original["updated_at"])  # the same instant
    assert tracker["tracking_details"] == original["tracking_details"]  # top-level fields only


def test_wrong_type_serves_an_uncastable_value(faulty: Any) -> None:
    sandbox = faulty("wms:wrong_type:id@1,wms:wrong_type:location_id@1")
    record = sandbox.wms(limit="1").json()["result"][0]
    assert record["id"] == "n/a" and record["location_id"] == "not-a-structure"


# ------------------------------------------------------------------------- source changes


def test_change_moves_the_boundary_record_past_every_other(faulty: Any) -> None:
    sandbox = faulty("tms:change:3@2")
    first = sandbox.tms(page_size="5").json()["trackers"]
    last = first[-1]
    sandbox.tms(page_size="5", before_id=last["id"])
    changed = sandbox.plan.changed["tms"]
    assert len(changed) == 3 and {first[-1]["id"], first[0]["id"]} <= set(changed)
    newest = max(r["updated_at"] for r in sandbox.server.scenario.tms_trackers())
    assert all(r["updated_at"] > newest for r in changed.values())
    assert all(sandbox.server.store.get("tms", k) == r for k, r in changed.items())


def test_late_writes_land_behind_what_was_served(faulty: Any) -> None:
    sandbox = faulty("erp:late:120@2")
    first = sandbox.erp(**{"$top": "10"}).json()["d"]["results"]
    sandbox.erp(**{"$top": "10"})
    (key, record), *_ = sandbox.plan.changed["erp"].items()
    assert key not in {r["SalesOrder"] for r in first}  # it had not been served yet
    newest = max(r["LastChangeDateTime"] for r in first)
    assert record["LastChangeDateTime"] < newest


def test_a_late_write_never_moves_a_record_it_served_back(faulty: Any) -> None:
    sandbox = faulty("erp:late:120@2")
    served = sandbox.erp(**{"$top": "1000"}).json()["d"]["results"]  # everything
    sandbox.erp(**{"$top": "1"})
    ((key, record),) = sandbox.plan.changed["erp"].items()
    before = next(r for r in served if r["SalesOrder"] == key)
    newest = max(r["LastChangeDateTime"] for r in served)
    assert before["LastChangeDateTime"] < record["LastChangeDateTime"] < newest


def test_expire_revokes_tokens_and_answers_401(faulty: Any) -> None:
    sandbox = faulty("crm:expire@2")
    token = sandbox.server.issuers["crm"].issue()
    url = sandbox.server.base_url("crm") + "/services/data/v60.0/query"
    params = {"q": "SELECT Id FROM FulfillmentOrder"}
    headers = {"Authorization": f"Bearer {token}"}
    assert sandbox.http.get(url, params=params, headers=headers).status_code == 200
    expired = sandbox.http.get(url, params=params, headers=headers)
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert sandbox.http.get(url, params=params, headers=headers).status_code == 401  # for good
    fresh = {"Authorization": f"Bearer {sandbox.server.issuers['crm'].issue()}"}
    assert sandbox.http.get(url, params=params, headers=fresh).status_code == 200


def test_delay_holds_the_answer(faulty: Any) -> None:
    sandbox = faulty("tms:delay:0.4@1")
    started = time.monotonic()
    assert sandbox.tms().status_code == 200
    assert time.monotonic() - started >= 0.4
    assert sandbox.plan.arrivals["tms"] and sandbox.plan.requests == {"tms": 1}


def test_the_token_endpoint_is_never_faulted(faulty: Any) -> None:
    sandbox = faulty("crm:503")
    response = sandbox.http.post(
        sandbox.server.base_url("crm") + "/services/oauth2/token",
        data={"grant_type": "client_credentials", **sandbox.credentials.for_system("crm")},
    )
    assert response.status_code == 200 and sandbox.plan.requests == {}
