"""Every fault the sandbox injects, met by the real connectors and loader over real HTTP.

Each test runs ``sync_system`` (``source-declarative-manifest`` subprocess, loader, warehouse)
against a sandbox with a fault plan, checks that the fault really fired, and then that the
warehouse holds exactly the ground truth: the scenario's records (as the Airbyte protocol
delivers them, top-level nulls left out), with the final version of every record the fault
layer changed at the source, and the records a schema fault broke in the quarantine, not in
the raw table. A fault that cannot be retried fails the sync loudly and leaves the previous
rows and state as they were; the next sync then completes the ground truth.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from connector_stubs import (
    Sandbox,
    as_delivered,
    assert_exactly_the_source,
    assert_nothing_lost_so_far,
    batches,
    every_tracker,
    expected_rows,
    key_of,
    latest_rows,
    quarantined,
    raw_rows,
    reference_hash,
    sandbox_config,
    stored_state,
    stub_records,
    sync,
    table,
    truth,
    wire_cursor,
    wrong_secrets,
)

from connectors.catalog import SYSTEMS
from connectors.errors import ConnectorError
from connectors.sync import SyncError, sync_all, sync_system
from orchestration.provenance import extraction_event
from sandbox.scenario import Scenario
from sandbox.store import SandboxStore


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(seed=21, orders=50)


# ------------------------------------------------------------------ retried: transport


def test_rate_limits_wait_for_retry_after(db_url: str, scenario: Scenario, sandboxes: Any) -> None:
    sandbox = sandboxes(scenario, "erp:429:2@2")
    result = sync(db_url, sandbox, "erp")
    plan = sandbox[0].faults
    assert plan.fired["erp"] == [(2, "429")]
    arrivals = plan.arrivals["erp"]
    # Retry-After: 2 (the backoff alone is 0.1 s, plus the second airbyte-cdk always adds)
    assert arrivals[2] - arrivals[1] >= 2.0
    assert result.records_new == len(scenario.records("erp"))
    assert_exactly_the_source(db_url, scenario, sandbox, "erp")


def test_bursts_of_server_errors_are_retried(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    sandbox = sandboxes(scenario, "crm:503@2x2,crm:502@5")
    sync(db_url, sandbox, "crm", max_retries=3)
    assert sandbox[0].faults.fired["crm"] == [(2, "503"), (3, "503"), (5, "502")]
    assert_exactly_the_source(db_url, scenario, sandbox, "crm")


def test_timeouts_and_dropped_connections_mid_page_are_retried(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    sandbox = sandboxes(scenario, "tms:timeout:1@2,tms:drop@4")
    sync(db_url, sandbox, "tms")
    assert sandbox[0].faults.fired["tms"] == [(2, "timeout"), (4, "drop")]
    assert_exactly_the_source(db_url, scenario, sandbox, "tms")


def test_retries_exhausted_fail_loudly_and_the_next_sync_completes(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    sandbox = sandboxes(scenario, "erp:500@2x3")
    with pytest.raises(ConnectorError, match=r"erp\.sales_orders") as caught:
        sync(db_url, sandbox, "erp", max_retries=2)
    assert "5xx" in str(caught.value) or "500" in str(caught.value)
    assert sandbox[0].faults.requests["erp"] == 4  # page 1, then page 2 tried 3 times
    assert raw_rows(db_url, table("erp")) == set() and stored_state(db_url, "erp") == {}
    sync(db_url, sandbox, "erp", max_retries=2)
    assert [b[0] for b in batches(db_url, "erp")] == ["failed", "succeeded"]
    assert_exactly_the_source(db_url, scenario, sandbox, "erp")


# ---------------------------------------------------------- not retried: fail, then resume


@pytest.mark.parametrize(
    ("system", "fault", "message"),
    [
        ("wms", "malformed", "has no result list"),
        ("crm", "missing_key", "has no records array"),
    ],
)
def test_a_broken_page_never_ends_a_sync_as_a_success(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str, fault: str, message: str
) -> None:
    store = SandboxStore.from_scenario(scenario)  # one source, served clean and then broken
    first = sync(db_url, sandboxes(store), system)
    rows_before = raw_rows(db_url, table(system))
    state_before = stored_state(db_url, system)
    assert first.records_new == len(scenario.records(system))
    # a record changes at the source; the next sync meets a broken second page (a long
    # lookback and small pages make sure there is a second page to break)
    broken = sandboxes(store, f"{system}:{fault}@2")
    key = SYSTEMS[system].streams[0].primary_key
    cursor = SYSTEMS[system].streams[0].source_cursor
    changed = {**scenario.records(system)[-1], cursor: wire_cursor(system, "2026-11-20T08:00:00Z")}
    store.upsert(system, changed)
    with pytest.raises(ConnectorError) as caught:
        sync(db_url, broken, system, page_size=3, lookback_window="P60D")
    text = str(caught.value)
    assert broken[0].faults.fired[system] == [(2, fault)]
    assert f"{system}.{SYSTEMS[system].stream_names[0]}" in text
    assert message in text and "failing instead of" in text
    assert raw_rows(db_url, table(system)) == rows_before
    assert stored_state(db_url, system) == state_before
    # the fault fired once; the next sync completes the ground truth
    sync(db_url, broken, system)
    runs = ["succeeded", "failed", "succeeded"]  # one batch per stream of each run
    assert [b[0] for b in batches(db_url, system)] == [
        status for status in runs for _ in SYSTEMS[system].streams
    ]
    final = {*rows_before, (str(changed[key]), reference_hash(as_delivered(changed, system)))}
    assert raw_rows(db_url, table(system)) == final


# ----------------------------------------------------------- served differently: exact


def test_duplicates_across_pages_are_stored_once(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    # the TMS pages by before_id: a page repeating the tail of the one before is in its order
    # (the keyset-paged systems fail such a page: test_connector_losses.py)
    system = "tms"
    sandbox = sandboxes(scenario, f"{system}:duplicates:4")
    result = sync(db_url, sandbox, system)
    assert sandbox[0].faults.count(system, "duplicates") >= 3
    assert result.records_read > len(scenario.records(system))
    assert result.records_new == len(scenario.records(system))
    assert_exactly_the_source(db_url, scenario, sandbox, system)


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_records_changing_while_paging_are_not_lost(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    # each change moves the last record served (and the first of its page, and others) past
    # every other record: offset paging would skip one record per moved one
    sandbox = sandboxes(scenario, f"{system}:change:3@2,{system}:change:2@4")
    sync(db_url, sandbox, system)
    assert len(sandbox[0].faults.changed[system]) >= 4
    if system == "tms":
        # the TMS lists trackers by creation: one changed behind the paging position keeps
        # its place, its new version is read by the next sync (its updated_at is the newest);
        # one changed twice may have been read at its version in between
        assert_nothing_lost_so_far(db_url, scenario, sandbox, system)
        sync(db_url, sandbox, system)
        assert latest_rows(db_url, system) == truth(scenario, sandbox, system)
        return
    assert_exactly_the_source(db_url, scenario, sandbox, system)


def test_out_of_order_pages_fail_loudly_and_late_writes_are_not_lost(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    system = "tms"
    store = SandboxStore.from_scenario(scenario)
    shuffled = sandboxes(store, f"{system}:shuffle@2")  # created_at out of order on page 2
    with pytest.raises(ConnectorError, match=r"tms\.trackers.*not in \(created_at, id\) order"):
        sync(db_url, shuffled, system)
    assert shuffled[0].faults.fired[system] == [(2, "shuffle")]
    assert raw_rows(db_url, table(system)) == set() and stored_state(db_url, system) == {}
    sync(db_url, shuffled, system)  # the API keeps its order again: everything, once
    assert_exactly_the_source(db_url, scenario, shuffled, system)
    sync(db_url, shuffled, system)  # the lookback is now measured from the newest tracker
    # a write lands late: committed after the last sync with updated_at 120 s before its end
    # (to any tracker: the creation window widened over the scenario, test_connector_sync.py)
    late = sandboxes(store, f"{system}:late:120@1")
    wide = every_tracker(system)
    sync(db_url, late, system, lookback_window="PT1S", **wide)  # too short a lookback: missed
    (late_key,) = late[0].faults.changed[system]
    missed = late[0].faults.changed[system][late_key]
    assert expected_rows(system, [missed]) - raw_rows(db_url, table(system))
    sync(db_url, late, system, **wide)  # the default lookback (PT10M) covers 120 s
    assert_exactly_the_source(db_url, scenario, late, system)


# ------------------------------------------------------------- schema drift: quarantine


def test_new_fields_are_kept_and_renamed_required_fields_quarantined(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    sandbox = sandboxes(
        scenario, "erp:new_field:ZZ1_DeliveryPriority,erp:rename:LastChangeDateTime/ChangedOn=0.3"
    )
    result = sync(db_url, sandbox, "erp")
    plan = sandbox[0].faults
    served = {
        r["SalesOrder"]: plan.rewritten["erp"][r["SalesOrder"]] for r in scenario.records("erp")
    }
    renamed = {k: r for k, r in served.items() if "ChangedOn" in r}
    kept = {k: r for k, r in served.items() if k not in renamed}
    assert renamed and kept and all("ZZ1_DeliveryPriority" in r for r in served.values())
    assert raw_rows(db_url, table("erp")) == expected_rows("erp", kept.values())
    held = quarantined(db_url, "erp")
    assert {(k, h) for k, h, _, _ in held} == expected_rows("erp", renamed.values())
    assert {reason for _, _, reason, _ in held} == {"missing required field 'LastChangeDateTime'"}
    assert {batch for *_, batch in held} == {result.batch_id}
    assert result.records_quarantined == len(renamed)
    event = extraction_event(result)
    assert event["records_quarantined"] == len(renamed)
    assert event["records_stored"] == len(kept)


def test_a_renamed_optional_field_is_kept_as_it_came(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    sandbox = sandboxes(scenario, "crm:rename:Status/FulfillmentStatus")
    sync(db_url, sandbox, "crm")
    served = [sandbox[0].faults.served_version("crm", r) for r in scenario.records("crm")]
    assert all("FulfillmentStatus" in r and "Status" not in r for r in served)
    assert raw_rows(db_url, table("crm")) == expected_rows("crm", served)
    assert quarantined(db_url, "crm") == []


def test_values_of_an_uncastable_type_are_quarantined(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    # the first page's every write_date uncastable: no position to page on, the sync fails
    # (ending the read there would skip the rest); the next one quarantines what stays bad
    sandbox = sandboxes(scenario, "wms:wrong_type:location_id=0.5,wms:wrong_type:write_date@1")
    with pytest.raises(ConnectorError, match="none with a write_date and an id to page from"):
        sync(db_url, sandbox, "wms")
    assert raw_rows(db_url, table("wms")) == set() and quarantined(db_url, "wms") == []
    sandbox[0].faults.rewritten["wms"].clear()
    result = sync(db_url, sandbox, "wms")
    rewritten = sandbox[0].faults.rewritten["wms"]
    bad = {
        str(k): r
        for k, r in rewritten.items()
        if not isinstance(r["location_id"], list) or not isinstance(r["write_date"], str)
    }
    good = [r for r in scenario.records("wms") if str(r["id"]) not in bad]
    assert bad and good
    assert raw_rows(db_url, table("wms")) == expected_rows("wms", good)
    held = quarantined(db_url, "wms")
    assert {(k, h) for k, h, _, _ in held} == expected_rows("wms", bad.values())
    assert all("cannot be cast to" in reason for _, _, reason, _ in held)
    assert result.records_quarantined == len(bad)


# ---------------------------------------------------------------------------------- auth


@pytest.mark.parametrize("system", ["crm"])  # Odoo takes its API key in every call
def test_expired_tokens_are_refreshed(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    sandbox = sandboxes(scenario, f"{system}:expire@3")
    sync(db_url, sandbox, system)
    assert sandbox[0].faults.fired[system] == [(3, "expire")]
    # a first token, then a refreshed one; the WMS's three streams are read concurrently
    # and each may fetch its own token first (how many do depends on their timing)
    streams = len(SYSTEMS[system].streams)
    issued = sandbox[0].issuers[system].issued
    assert issued == 2 if streams == 1 else 2 <= issued <= streams + 2, issued
    assert_exactly_the_source(db_url, scenario, sandbox, system)


# ------------------------------------------------------------------------- orchestration


def test_sync_all_goes_on_past_a_failing_system(db_url: str, stub_sandbox: Sandbox) -> None:
    server, credentials = stub_sandbox
    configs = {
        "erp": sandbox_config(server, credentials, "erp"),
        "tms": sandbox_config(
            server, credentials, "tms", secrets=wrong_secrets(credentials, "tms")
        ),
    }
    with pytest.raises(SyncError) as caught:
        sync_all(configs, db_url)
    assert list(caught.value.errors) == ["tms"]
    assert "401" in str(caught.value.errors["tms"])
    assert [(r.system, r.records_new) for r in caught.value.results] == [
        ("erp", len(stub_records()["erp"]))
    ]


def test_two_syncs_of_one_system_never_overlap(db_url: str, stub_sandbox: Sandbox) -> None:
    server, credentials = stub_sandbox
    config = sandbox_config(server, credentials, "erp")
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("select pg_advisory_lock(hashtext('orderhub.connectors.sync.erp'))")
        with pytest.raises(ConnectorError, match="another sync of this system is running"):
            sync_system("erp", config, db_url)
    assert stored_state(db_url, "erp") == {}
    sync_system("erp", config, db_url)  # the lock went with the session
    assert raw_rows(db_url, table("erp")) == expected_rows("erp", stub_records()["erp"])
    assert {key_of("erp", r) for r in stub_records()["erp"]} == {
        k for k, _ in raw_rows(db_url, table("erp"))
    }
