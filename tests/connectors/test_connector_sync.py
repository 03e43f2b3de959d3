"""``sync_system`` against the real sandbox over HTTP.

For each system: the first sync loads exactly the scenario's records (same keys, same RFC 8785
hashes from the ``rfc8785`` reference), in several pages; a second sync re-reads what the
first read (its lookback is measured from where the first started, connectors/resume.py),
loads nothing new and stores no duplicate; a third reads from where the second started, and a
record changed at the source arrives as one new version; a sync with a wrong credential fails
naming the system and the 401, leaving rows and state as they were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from connector_stubs import (
    TIMEOUT,
    as_delivered,
    batches,
    expected_rows,
    raw_rows,
    reference_hash,
    sandbox_config,
    stored_state,
    wire_cursor,
    wrong_secrets,
)

from connectors.catalog import SYSTEMS
from connectors.config import DEFAULT_START_DATE
from connectors.errors import ConnectorError
from connectors.resume import RESUME_KEY
from connectors.sync import sync_system
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.store import sortable

ORDERS = 60
PAGE_SIZE = {"erp": 7, "crm": 9, "wms": 25, "tms": 8}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(seed=11, orders=ORDERS)


@pytest.fixture(scope="module")
def sandbox(scenario: Scenario) -> Iterator[tuple[SandboxServer, SandboxCredentials]]:
    credentials = SandboxCredentials.generate()
    with SandboxServer(scenario, credentials) as server:
        yield server, credentials


def config_for(
    sandbox: tuple[SandboxServer, SandboxCredentials],
    system: str,
    secrets: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``system``'s config on ``sandbox``, paging by ``PAGE_SIZE`` (several pages)."""
    return sandbox_config(*sandbox, system, page_size=PAGE_SIZE[system], secrets=secrets)


def first_state(db_url: str, system: str) -> dict[str, Any]:
    """The stored state of ``system``'s first stream (the one these tests follow)."""
    name = SYSTEMS[system].stream_names[0]
    return {k: v for k, v in stored_state(db_url, system).items() if k == name}


def test_the_wms_sync_lands_its_stock_and_warehouses(
    db_url: str, sandbox: tuple[SandboxServer, SandboxCredentials]
) -> None:
    results = sync_system("wms", config_for(sandbox, "wms"), db_url, timeout=TIMEOUT)
    by_stream = {result.stream: result for result in results}
    assert set(by_stream) == {"pickings", "stock_quants", "warehouses"}
    quants = raw_rows(db_url, "raw_wms.stock_quants")
    warehouses = raw_rows(db_url, "raw_wms.warehouses")
    assert len(warehouses) == 3 == by_stream["warehouses"].records_new
    assert len(quants) == by_stream["stock_quants"].records_read > 10


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_sync_loads_exactly_the_scenario_once(
    db_url: str, sandbox: tuple[SandboxServer, SandboxCredentials], scenario: Scenario, system: str
) -> None:
    connector = SYSTEMS[system]
    stream = connector.streams[0]
    table = connector.raw_table(stream.name)
    records = scenario.records(system)
    expected = expected_rows(system, records)
    assert len(records) > PAGE_SIZE[system]  # several pages
    said: list[str] = []

    first, *others = sync_system(
        system, config_for(sandbox, system), db_url, progress=said.append, timeout=TIMEOUT
    )
    assert [other.stream for other in others] == list(connector.stream_names[1:])
    assert raw_rows(db_url, table) == expected
    assert (first.records_read, first.records_new) == (len(records), len(expected))
    # the state is in ISO 8601 UTC whatever the source's form (Odoo: "2026-10-03 14:05:09")
    assert first.cursor_to == sortable(max(r[stream.source_cursor] for r in records))
    assert any("records read" in line for line in said)
    state = first_state(db_url, system)
    newest = first.cursor_to
    assert state == {stream.name: {stream.cursor_field: newest, RESUME_KEY: DEFAULT_START_DATE}}

    second, *_ = sync_system(system, config_for(sandbox, system), db_url, timeout=TIMEOUT)
    assert (second.records_new, second.records_read) == (0, len(records))
    assert (second.cursor_from, second.cursor_to) == (DEFAULT_START_DATE, newest)
    assert raw_rows(db_url, table) == expected
    state = {stream.name: {stream.cursor_field: newest, RESUME_KEY: newest}}
    assert first_state(db_url, system) == state

    server, _ = sandbox
    # the TMS lists only trackers created within its creation window: change the newest
    # (test_the_tms_poll_reads_the_trackers_created_within_its_window shows the limit)
    moved = max(records, key=lambda r: r["created_at"]) if system == "tms" else records[0]
    changed = {**moved, stream.source_cursor: wire_cursor(system, "2026-11-20T08:00:00Z")}
    server.store.upsert(system, changed)
    expected.add((str(changed[stream.primary_key]), reference_hash(as_delivered(changed, system))))
    third, *_ = sync_system(system, config_for(sandbox, system), db_url, timeout=TIMEOUT)
    assert third.records_new == 1 and 1 <= third.records_read < len(records)
    assert third.cursor_from == newest  # inclusive cursor, minus the lookback window
    assert raw_rows(db_url, table) == expected
    state = {stream.name: {stream.cursor_field: "2026-11-20T08:00:00Z", RESUME_KEY: newest}}
    assert first_state(db_url, system) == state

    with pytest.raises(ConnectorError) as caught:
        sync_system(
            system,
            config_for(sandbox, system, wrong_secrets(sandbox[1], system)),
            db_url,
            timeout=TIMEOUT,
        )
    assert caught.value.system == system
    assert caught.value.stream == ",".join(connector.stream_names)  # every stream failed
    rejected = {"erp": "401", "tms": "401", "crm": "invalid_client", "wms": "Access Denied"}
    assert f"{system}.{stream.name}" in str(caught.value)
    assert rejected[system] in str(caught.value)
    assert raw_rows(db_url, table) == expected
    assert first_state(db_url, system) == state
    statuses = [b[0] for b in batches(db_url, system)]
    runs = ["succeeded", "succeeded", "succeeded", "failed"]
    assert statuses == [status for status in runs for _ in connector.streams]


def tracker(n: int, created: str, updated: str) -> dict[str, Any]:
    return {"id": f"trk_{n:032x}", "created_at": created, "updated_at": updated, "status": "x"}


@pytest.mark.parametrize("window", [None, "P90D"])
def test_the_tms_poll_reads_the_trackers_created_within_its_window(
    db_url: str, sandboxes: Any, window: str | None
) -> None:
    # EasyPost lists trackers by creation only: a sync asks for those created within the
    # creation window (default P7D) before where it reads from; an update to an older
    # tracker reaches orderhub by webhook only, unless the window is widened to cover it
    old = tracker(1, "2026-09-01T00:00:00Z", "2026-09-02T00:00:00Z")
    recent = tracker(2, "2026-10-28T00:00:00Z", "2026-10-29T00:00:00Z")
    newest = tracker(3, "2026-10-30T00:00:00Z", "2026-11-01T00:00:00Z")
    server, credentials = sandboxes({"tms": [old, recent, newest]})
    options = {"options": {"creation_window": window}} if window else {}
    config = sandbox_config(server, credentials, "tms", **options)
    (first,) = sync_system("tms", config, db_url, timeout=TIMEOUT)
    assert first.records_read == 3  # the first sync lists from the start date
    sync_system("tms", config, db_url, timeout=TIMEOUT)  # from where the first started
    for record in (old, recent):
        server.store.upsert("tms", {**record, "updated_at": "2026-11-05T00:00:00Z"})
    # from 2026-11-01 less the lookback: the old tracker (created 61 days before) is outside
    # the default P7D, inside P90D
    (third,) = sync_system("tms", config, db_url, timeout=TIMEOUT)
    versions = Counter(key for key, _ in raw_rows(db_url, "raw_tms.trackers"))
    assert versions == {old["id"]: 2 if window else 1, recent["id"]: 2, newest["id"]: 1}
    assert third.records_read == (3 if window else 2)
