"""Each way a sync lost records while reporting success, met over real HTTP (issue 20).

One named test per mechanism: the sandbox serves the fault that exposed it, the real connector
and loader sync, and the warehouse is compared with the sandbox's ground truth (its store,
as the fault layer serves it). A sync that cannot be trusted must fail, say why, and leave
rows and state as they were; the next sync must complete the ground truth.

- a page served again from a failed sync moved the keyset position past unread records;
- a page starting before the position asked for was trusted;
- a renamed cursor field ended paging silently (the predicate read the config), and the
  same records were quarantined again on every sync;
- a write landing behind the paging position during a sync was never read;
- and what the hunt found: a short page ended the CRM's read (its stop compared the page
  with the configured size), a record dated in the future carried the position past every
  later write, timestamps with a UTC offset put the state ahead of the source; and, found
  safe and kept so: pages inside a run of equal cursor values, state
  only after the last page, server errors after rows were flushed, a token expiring again
  right after a refresh (reported as a rejected refresh).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from connector_stubs import (
    PAGE_SIZE,
    TIMEOUT,
    assert_exactly_the_source,
    every_tracker,
    expected_rows,
    quarantined,
    raw_rows,
    sandbox_config,
    stored_state,
    stub_records,
    sync,
    table,
    wire_cursor,
)

from connectors import loader as loader_module
from connectors import runner
from connectors.catalog import SYSTEMS
from connectors.errors import ConnectorError
from connectors.resume import RESUME_KEY
from connectors.sync import sync_system
from sandbox.scenario import Scenario
from sandbox.store import SandboxStore, sortable

KEYSET = sorted(s for s, c in SYSTEMS.items() if c.streams[0].keyset)
ORDER_MESSAGE = {
    "erp": r"not in \(LastChangeDateTime, SalesOrder\) order",
    "crm": r"not in \(SystemModstamp, Id\) order",
    "wms": r"not in \(write_date, id\) order",
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(seed=23, orders=40)


def snapshot(db_url: str, system: str) -> tuple[Any, ...]:
    """What a failed sync must leave as it was: the faulted (first) stream's rows, quarantine
    and state (the WMS's stock streams, which the faults leave alone, may commit theirs)."""
    faulted = stream_of(system).name
    state = {name: kept for name, kept in stored_state(db_url, system).items() if name == faulted}
    return (raw_rows(db_url, table(system)), quarantined(db_url, system), state)


def source_rows(store: SandboxStore, system: str) -> set[tuple[str, str]]:
    """The rows the source holds now (as a client receives them)."""
    return expected_rows(system, store.records(system))


def stream_of(system: str) -> Any:
    return SYSTEMS[system].streams[0]


# ---------------------------------------------------------------- the paging position


@pytest.mark.parametrize("system", KEYSET)
def test_a_page_served_again_from_a_failed_sync_fails_the_next_sync_instead_of_skipping(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    # A sync dies on its fourth page; the next sync's first page begins with the tail of the
    # last page the dead sync was served. Taken as the page maximum, the position leapt there
    # and the records in between were never read; in the server's own order, the page is out
    # of order and the sync says so.
    sandbox = sandboxes(scenario, f"{system}:malformed@4,{system}:duplicates:3@5")
    with pytest.raises(ConnectorError, match="failing instead of reading it as"):
        sync(db_url, sandbox, system)
    before = snapshot(db_url, system)
    with pytest.raises(ConnectorError, match=ORDER_MESSAGE[system]):
        sync(db_url, sandbox, system)
    assert sandbox[0].faults.fired[system] == [(4, "malformed"), (5, "duplicates")]
    assert snapshot(db_url, system) == before
    sync(db_url, sandbox, system)
    assert_exactly_the_source(db_url, scenario, sandbox, system)


@pytest.mark.parametrize("system", KEYSET)
def test_a_page_starting_before_the_position_asked_for_fails_the_sync(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    # Page 3 repeats the end of page 2: in order within itself, but before the position the
    # connector asked for. The loader sees it across the page boundary.
    sandbox = sandboxes(scenario, f"{system}:duplicates:2@3")
    with pytest.raises(ConnectorError, match=r"came after .*a page started before the position"):
        sync(db_url, sandbox, system)
    assert snapshot(db_url, system) == (set(), [], {})
    sync(db_url, sandbox, system)  # the server keeps to the position again
    assert_exactly_the_source(db_url, scenario, sandbox, system)


# ------------------------------------------------------- predicates and the quarantine


def test_a_renamed_cursor_field_fails_the_sync_instead_of_ending_it_silently(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    # The ERP pages by the last record's (cursor, key): without the cursor it cannot page on.
    system = "erp"
    sandbox = sandboxes(scenario, f"{system}:rename:LastChangeDateTime/LastChanged")
    with pytest.raises(ConnectorError, match="says more pages follow but has no record"):
        sync(db_url, sandbox, system)
    assert snapshot(db_url, system) == (set(), [], {})


def test_a_renamed_cursor_field_quarantines_every_record_when_the_server_pages(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    # The CRM follows the server's nextRecordsUrl: the read goes on to the end, and every
    # record, lacking the cursor its schema requires, is quarantined, none stored.
    system = "crm"
    sandbox = sandboxes(scenario, f"{system}:rename:SystemModstamp/Modstamp")
    result = sync(db_url, sandbox, system)
    assert result.records_quarantined == len(scenario.records(system))
    assert result.records_new == 0


def test_records_already_quarantined_are_not_quarantined_again(db_url: str, sandboxes: Any) -> None:
    system = "crm"
    records = stub_records(6)[system]
    sandbox = sandboxes({system: records}, f"{system}:rename:SystemModstamp/Modstamp")
    first = sync(db_url, sandbox, system)  # one page, the last: every record quarantined
    second = sync(db_url, sandbox, system)
    held = quarantined(db_url, system)
    served = [sandbox[0].faults.served_version(system, r) for r in records]
    assert {(k, h) for k, h, _, _ in held} == expected_rows(system, served)
    assert len(held) == len(records)  # once each, by the batch that first saw it
    assert {batch for *_, batch in held} == {first.batch_id}
    assert (first.records_quarantined, second.records_quarantined) == (len(records), 0)
    assert raw_rows(db_url, table(system)) == set()


# ------------------------------------------------------------------------ late writes


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_a_write_landing_behind_the_position_during_a_sync_is_read_by_the_next_one(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    store = SandboxStore.from_scenario(scenario)
    stream = stream_of(system)
    # the TMS's creation window widened over the scenario: the trackers moved below are old
    options: dict[str, Any] = {"page_size": 4, **every_tracker(system)}
    sync(db_url, sandboxes(store), system, **options)
    sync(db_url, sandboxes(store), system, **options)  # settled: the lookback from the newest
    # the source moves on by five hours; while the next sync reads it, a write lands one
    # minute behind the newest record served so far: behind the position, and far behind
    # where that sync ends
    newest = datetime.fromisoformat(
        sortable(max(r[stream.source_cursor] for r in store.records(system))) or ""
    )
    for step, record in enumerate(store.records(system)[:15], start=1):
        moved = newest + timedelta(minutes=20 * step)
        moved_at = wire_cursor(system, moved.strftime("%Y-%m-%dT%H:%M:%SZ"))
        store.upsert(system, {**record, stream.source_cursor: moved_at})
    sandbox = sandboxes(store, f"{system}:late:60@2")
    sync(db_url, sandbox, system, **options)
    (late,) = sandbox[0].faults.changed[system].values()
    if system != "tms":  # the TMS reads its whole list: the late write may be read already
        assert expected_rows(system, [late]) - raw_rows(db_url, table(system))  # not read yet
    sync(db_url, sandbox, system, **options)
    assert expected_rows(system, [late]) <= raw_rows(db_url, table(system))
    assert source_rows(store, system) <= raw_rows(db_url, table(system))


def test_a_record_dated_in_the_future_does_not_carry_the_position_past_later_writes(
    db_url: str, sandboxes: Any
) -> None:
    # A source whose clock runs a day ahead writes one record; the committed position may not
    # pass the moment the sync started, or every write of the coming day is skipped.
    system = "erp"
    stream = stream_of(system)
    now = datetime.now(UTC)
    records = stub_records(12)[system]
    records[0][stream.source_cursor] = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store = SandboxStore({system: records})
    sandbox = sandboxes(store)
    sync(db_url, sandbox, system)
    sync(db_url, sandbox, system)
    written = {**records[1], stream.source_cursor: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    store.upsert(system, written)  # an ordinary write, after the syncs above started
    sync(db_url, sandbox, system)
    assert expected_rows(system, [written]) <= raw_rows(db_url, table(system))
    assert source_rows(store, system) <= raw_rows(db_url, table(system))


# ----------------------------------------------------------------- what the hunt found


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_a_short_page_that_says_more_follow_does_not_end_the_read(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    # The server caps every page at half the size asked for (Salesforce may return smaller
    # batches than asked): only the server's own flag says whether more follow.
    sandbox = sandboxes(scenario, f"{system}:short")
    result = sync(db_url, sandbox, system)
    assert (
        sandbox[0].faults.count(system, "short")
        > len(scenario.records(system)) // (PAGE_SIZE[system])
    )
    assert result.records_new == len(scenario.records(system))
    assert_exactly_the_source(db_url, scenario, sandbox, system)


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_pages_inside_a_run_of_equal_cursor_values(
    db_url: str, sandboxes: Any, system: str
) -> None:
    stream = stream_of(system)
    records = stub_records(20)[system]
    for record in records[3:17]:  # fourteen records changed in the same second
        record[stream.source_cursor] = "2026-10-15T12:00:00Z"
    store = SandboxStore({system: records})
    result = sync(db_url, sandboxes(store), system, page_size=3)
    assert result.records_new == len(records)
    assert raw_rows(db_url, table(system)) == source_rows(store, system)


# Odoo writes its datetimes in UTC without a zone: the WMS has no offset to misread
@pytest.mark.parametrize("system", sorted(set(SYSTEMS) - {"wms"}))
def test_timestamps_written_in_another_utc_offset_do_not_move_the_state_ahead(
    db_url: str, scenario: Scenario, sandboxes: Any, system: str
) -> None:
    # The server writes every timestamp in UTC+05:30. airbyte-cdk states the newest one as its
    # local time marked Z, 5.5 hours ahead of the source: a write made in between was skipped.
    store = SandboxStore.from_scenario(scenario)
    sandbox = sandboxes(store, f"{system}:offset:+05:30")
    stream = stream_of(system)
    one, two = store.records(system)[:2]
    wide = every_tracker(system)  # the TMS: old trackers move, its creation window widened
    sync(db_url, sandbox, system, **wide)
    store.upsert(system, {**one, stream.source_cursor: "2026-11-20T08:00:00Z"})
    sync(db_url, sandbox, system, **wide)
    sync(db_url, sandbox, system, **wide)  # settled: the lookback from 08:00 UTC
    store.upsert(system, {**two, stream.source_cursor: "2026-11-20T09:00:00Z"})
    assert sync(db_url, sandbox, system, **wide).records_new == 1
    served = [sandbox[0].faults.served_version(system, r) for r in store.records(system)]
    assert all(r[stream.source_cursor].endswith(("+05:30", "+0530)/")) for r in served)
    assert expected_rows(system, served) <= raw_rows(db_url, table(system))
    state = {stream.cursor_field: "2026-11-20T09:00:00Z", RESUME_KEY: "2026-11-20T08:00:00Z"}
    assert stored_state(db_url, system)[stream.name] == state


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_a_read_checkpoints_only_after_its_last_page(stub_sandbox: Any, system: str) -> None:
    # The loader commits rows with each STATE. A STATE in the middle of a read would commit a
    # position with pages still unread (and a sync failing after it could not leave the
    # warehouse as it was): airbyte-cdk emits the stream's state when its one slice closes.
    config = sandbox_config(*stub_sandbox, system, page_size=4)
    with runner.read(system, config) as messages:
        read = [m for m in messages if m["type"] in ("RECORD", "STATE")]

    def of(stream: str) -> list[str]:  # the stream's own messages (the WMS reads three)
        return [
            m["type"]
            for m in read
            if (m.get("record") or {}).get("stream") == stream
            or (m.get("state") or {}).get("stream", {}).get("stream_descriptor", {}).get("name")
            == stream
        ]

    kinds = of(stream_of(system).name)
    assert kinds.count("RECORD") == len(stub_records()[system])  # a dozen pages
    for stream in SYSTEMS[system].stream_names:
        assert "RECORD" not in of(stream)[of(stream).index("STATE") :]


def test_a_server_error_after_rows_were_flushed_leaves_nothing_behind(
    db_url: str, scenario: Scenario, sandboxes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "FLUSH_ROWS", 2)  # rows reach the raw table per page
    system = "tms"
    sandbox = sandboxes(scenario, f"{system}:503@4x3")
    with pytest.raises(ConnectorError, match=r"tms\.trackers"):
        sync(db_url, sandbox, system, max_retries=2)
    assert snapshot(db_url, system) == (set(), [], {})
    sync(db_url, sandbox, system, max_retries=2)
    assert_exactly_the_source(db_url, scenario, sandbox, system)


def test_a_token_expiring_again_after_a_refresh_is_not_called_a_rejected_refresh(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    # Page 3 finds its token expired; the refresh succeeds; the retry meets a 503, and the
    # retry after that finds every token expired again. The refresh did not fail.
    system = "crm"
    sandbox = sandboxes(scenario, f"{system}:expire@3,{system}:503@4,{system}:expire@5")
    with pytest.raises(ConnectorError) as caught:
        sync(db_url, sandbox, system)
    text = str(caught.value)
    assert "Refreshed OAuth access token is rejected" not in text
    assert "INVALID_SESSION_ID" in text and "refreshed successfully" in text
    assert sandbox[0].issuers[system].issued == 2  # the first token, and the refreshed one
    assert snapshot(db_url, system) == (set(), [], {})
    sync(db_url, sandbox, system)
    assert_exactly_the_source(db_url, scenario, sandbox, system)


def test_retries_say_what_failed_how_long_they_wait_and_which_attempt(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    system = "crm"
    sandbox = sandboxes(scenario, f"{system}:503@2x2,{system}:drop@5,{system}:expire@7")
    said: list[str] = []
    config = sandbox_config(*sandbox, system, page_size=PAGE_SIZE[system])
    sync_system(system, config, db_url, progress=said.append, timeout=TIMEOUT)
    retries = [line for line in said if "retrying" in line]
    assert retries[:2] == [
        f"{system}: request failed (HTTP 503), attempt 1 of 4; retrying in 1.1 s",
        f"{system}: request failed (HTTP 503), attempt 2 of 4; retrying in 1.2 s",
    ]
    assert retries[2] == (
        f"{system}: request failed (no answer: connection refused, cut off or timed out),"
        " attempt 1 of 4; retrying in 1.1 s"
    )
    assert retries[3] == (
        f"{system}: the API rejected the access token (HTTP 401); fetched a new one, retrying"
    )
    assert_exactly_the_source(db_url, scenario, sandbox, system)
