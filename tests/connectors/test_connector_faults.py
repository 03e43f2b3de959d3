"""Fault handling of the manifests and the sync, against the stub APIs (real connector process).

Each fault class of DESIGN.md §7 and docs/sources.md: a page without its records key (or a
malformed body) fails instead of reading as empty; 401 fails with the API's message; 429 with
Retry-After and 5xx are retried; previous rows and state stay intact on every failure.
"""

from __future__ import annotations

import psycopg
import pytest
from connector_stubs import (
    batches,
    raw_rows,
    reference_hash,
    stored_state,
    stub_config,
    stub_records,
)
from fake_apis import Canned, FakeApis

from connectors.catalog import SYSTEMS
from connectors.errors import ConnectorError
from connectors.sync import SyncError, sync_all, sync_system

MISSING_KEY_PAGE = {
    "erp": {"d": {"__next": "x"}},
    "crm": {"totalSize": 3, "done": False, "nextRecordsUrl": "/crm/x"},
    "wms": {"next_cursor": "10"},
    "tms": {"has_more": True},
}


def expected(system: str) -> set[tuple[str, str]]:
    key = SYSTEMS[system].streams[0].primary_key
    return {(str(r[key]), reference_hash(r)) for r in stub_records()[system]}


def table(system: str) -> str:
    return SYSTEMS[system].raw_table(SYSTEMS[system].stream_names[0])


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_page_without_records_key_fails_and_keeps_previous_load(db_url: str, system: str) -> None:
    records = stub_records()
    creds = {s: f"{s}-secret-value" for s in SYSTEMS}
    with FakeApis(records, creds) as apis:
        first = sync_system(system, stub_config(apis, system, secret=creds[system]), db_url)
    assert first[0].records_new == len(records[system])
    state_before = stored_state(db_url, system)
    rows_before = raw_rows(db_url, table(system))
    # a changed record arrives, but page 2 of the next sync lacks the records key
    cursor = SYSTEMS[system].streams[0].cursor_field
    changed = {**records[system][-1], "extra": "changed", cursor: "2026-10-30T00:00:00Z"}
    records[system].append(changed)
    script = {system: {2: Canned(200, MISSING_KEY_PAGE[system])}}
    with FakeApis(records, creds, script=script) as apis:
        config = stub_config(apis, system, secret=creds[system], page_size=1)
        with pytest.raises(ConnectorError) as caught:
            sync_system(system, config, db_url)
    message = str(caught.value)
    assert system in message and SYSTEMS[system].stream_names[0] in message
    assert "failing instead of reading" in message
    assert stored_state(db_url, system) == state_before
    assert raw_rows(db_url, table(system)) == rows_before
    assert [b[0] for b in batches(db_url, system)] == ["succeeded", "failed"]


def test_malformed_json_body_fails(db_url: str, stub_apis: FakeApis) -> None:
    stub_apis.script["wms"] = {2: Canned(200, b'{"data": [{"id": 1}, ')}
    with pytest.raises(ConnectorError, match=r"wms\.pickings.*no data array"):
        sync_system("wms", stub_config(stub_apis, "wms"), db_url)
    assert stored_state(db_url, "wms") == {}
    assert raw_rows(db_url, table("wms")) == set()


def test_bad_credentials_fail_with_401_and_keep_state(db_url: str, stub_apis: FakeApis) -> None:
    sync_system("crm", stub_config(stub_apis, "crm"), db_url)
    state_before = stored_state(db_url, "crm")
    with pytest.raises(ConnectorError) as caught:
        sync_system("crm", stub_config(stub_apis, "crm", secret="wrong-token"), db_url)
    assert "crm.fulfillment_orders" in str(caught.value)
    assert "401" in str(caught.value) and "INVALID_SESSION_ID" in str(caught.value)
    assert caught.value.system == "crm"
    assert stored_state(db_url, "crm") == state_before
    assert raw_rows(db_url, table("crm")) == expected("crm")


def test_rate_limit_server_and_connection_errors_are_retried(
    db_url: str, stub_apis: FakeApis
) -> None:
    stub_apis.script["tms"] = {
        2: Canned(429, {"error": "slow down"}, {"Retry-After": "2"}),
        3: Canned(503, "unavailable"),
        4: Canned(0),  # connection dropped
        6: Canned(500, {"error": "boom"}),
    }
    results = sync_system("tms", stub_config(stub_apis, "tms"), db_url)
    assert results[0].records_new == len(stub_records()["tms"])
    assert raw_rows(db_url, table("tms")) == expected("tms")
    assert len(stub_apis.requests["tms"]) == 5 + 4  # five pages, each fault retried once
    arrivals = stub_apis.arrivals["tms"]
    assert arrivals[2] - arrivals[1] >= 2.0  # Retry-After honoured (the backoff alone is 0.1 s)


def test_retries_exhausted_fail(db_url: str, stub_apis: FakeApis) -> None:
    stub_apis.script["erp"] = {n: Canned(503, "down") for n in range(1, 10)}
    with pytest.raises(ConnectorError, match=r"erp\.sales_orders"):
        sync_system("erp", stub_config(stub_apis, "erp", max_retries=2), db_url)
    assert len(stub_apis.requests["erp"]) == 3
    assert [b[0] for b in batches(db_url, "erp")] == ["failed"]


def test_sync_all_goes_on_past_a_failing_system(db_url: str) -> None:
    with FakeApis(stub_records(), {"erp": "erp-good-key", "wms": "wms-good-token"}) as apis:
        configs = {
            "erp": stub_config(apis, "erp", secret="erp-good-key"),
            "wms": stub_config(apis, "wms", secret="not-the-token"),
        }
        with pytest.raises(SyncError) as caught:
            sync_all(configs, db_url)
    assert list(caught.value.errors) == ["wms"]
    assert "401" in str(caught.value.errors["wms"])
    assert [(r.system, r.records_new) for r in caught.value.results] == [
        ("erp", len(stub_records()["erp"]))
    ]


def test_two_syncs_of_one_system_never_overlap(db_url: str, stub_apis: FakeApis) -> None:
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("select pg_advisory_lock(hashtext('orderhub.connectors.sync.erp'))")
        with pytest.raises(ConnectorError, match="another sync of this system is running"):
            sync_system("erp", stub_config(stub_apis, "erp"), db_url)
    assert stub_apis.requests == {}
    sync_system("erp", stub_config(stub_apis, "erp"), db_url)  # lock gone with the session
