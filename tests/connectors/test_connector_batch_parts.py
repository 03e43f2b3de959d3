"""A long stream goes on in a new extraction batch every ``max_batch_rows`` stored rows, so
the loader holds at most that many rows' keys and hashes (and one tree of that size), not a
whole first load; each batch's tree holds exactly its rows; the batches follow each other
cursor to cursor; each closed batch is handed to ``on_closed`` as it commits (the Dagster
asset logs it in the ledger then), so a run failing later keeps it stored, succeeded and
logged; the next sync stores nothing twice."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from connector_stubs import (
    TIMEOUT,
    Sandbox,
    assert_exactly_the_source,
    batches,
    expected_rows,
    raw_rows,
    sandbox_config,
    stored_state,
    table,
)
from dagster import materialize

from connectors import loader
from connectors.batches import BatchResult
from connectors.errors import ConnectorError
from connectors.sync import sync_system
from ledger.batches import BatchTree
from ledger.store import batch_entry
from orchestration import connector_assets
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource
from orderhub.settings import get_settings
from sandbox.scenario import Scenario

#: Rows a batch stores at most in these tests; rows go in five at a time.
MOST = 20
SLACK = 4  # a batch is closed after the insert that reaches MOST: up to MOST + 4 rows


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(seed=21, orders=50)


@pytest.fixture(autouse=True)
def small_inserts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "FLUSH_ROWS", 5)


def _sync(
    db_url: str, sandbox: Sandbox, on_closed: Any = None, **options: Any
) -> list[BatchResult]:
    config = sandbox_config(*sandbox, "erp", page_size=5, **options)
    return sync_system(
        "erp", config, db_url, timeout=TIMEOUT, max_batch_rows=MOST, on_closed=on_closed
    )


def _rows_by_batch(db_url: str) -> dict[str, list[tuple[str, bytes]]]:
    with psycopg.connect(db_url) as conn:
        found = conn.execute(f"select batch_id, record_key, content_hash from {table('erp')}")
        rows: dict[str, list[tuple[str, bytes]]] = {}
        for batch_id, key, digest in found:
            rows.setdefault(batch_id, []).append((key, bytes.fromhex(digest)))
        return rows


def test_a_long_stream_goes_on_in_a_new_batch_every_max_batch_rows(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    records = scenario.records("erp")
    expected = expected_rows("erp", records)
    assert len(expected) > 2 * MOST + SLACK
    parts = _sync(db_url, sandboxes(scenario))
    assert len(parts) >= 3
    assert all(part.records_stored <= MOST + SLACK for part in parts[:-1])
    assert sum(part.records_stored for part in parts) == len(expected)
    assert sum(part.records_read for part in parts) == len(records)
    assert raw_rows(db_url, table("erp")) == expected
    stored = _rows_by_batch(db_url)
    for part in parts:  # each batch's root is the tree of exactly the rows it stored
        assert BatchTree.of_records(stored.get(part.batch_id, [])).root().hex() == part.merkle_root
    assert [p.cursor_from for p in parts[1:]] == [p.cursor_to for p in parts[:-1]]
    assert [b[0] for b in batches(db_url, "erp")] == ["succeeded"] * len(parts)
    # without a bound, one batch holds the whole stream (the second sync stores nothing)
    config = sandbox_config(*sandboxes(scenario), "erp", page_size=5)
    again = sync_system("erp", config, db_url, timeout=TIMEOUT, max_batch_rows=None)
    assert len(again) == 1 and again[0].records_new == 0


def test_a_run_failing_after_it_closed_a_batch_keeps_it_and_names_it(
    db_url: str, scenario: Scenario, sandboxes: Any
) -> None:
    sandbox = sandboxes(scenario, "erp:500@8x3")  # page 8 (records 36-40) fails three times
    closed: list[BatchResult] = []
    with pytest.raises(ConnectorError, match=r"erp\.sales_orders"):
        _sync(db_url, sandbox, max_retries=2, on_closed=closed.append)
    finished = closed
    assert len(finished) == 1 and finished[0].records_stored >= MOST
    stored = _rows_by_batch(db_url)
    assert set(stored) == {finished[0].batch_id}  # the open batch's rows rolled back
    assert BatchTree.of_records(stored[finished[0].batch_id]).root().hex() == (
        finished[0].merkle_root
    )
    assert [b[0] for b in batches(db_url, "erp")] == ["succeeded", "failed"]
    assert stored_state(db_url, "erp") == {}  # no STATE came: the next sync reads it all again
    again = _sync(db_url, sandbox)
    assert sum(part.records_new for part in again) == (
        len(expected_rows("erp", scenario.records("erp"))) - finished[0].records_stored
    )
    assert_exactly_the_source(db_url, scenario, sandbox, "erp")


@pytest.fixture
def home(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ORDERHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_asset_logs_the_batches_a_failed_sync_closed(
    db_url: str, scenario: Scenario, sandboxes: Any, home: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``raw_erp`` materialized for real by Dagster: the sync fails after closing a batch,
    the run fails, and that batch's ``extraction_batch`` event is in the ledger (its rows
    stay traceable); the failed batch has none."""
    config = sandbox_config(*sandboxes(scenario, "erp:500@8x3"), "erp", page_size=5, max_retries=2)
    monkeypatch.setattr(SourcesResource, "config", lambda self, system: config)
    bounded = functools.partial(sync_system, max_batch_rows=MOST)
    monkeypatch.setattr(connector_assets, "sync_system", bounded)
    monkeypatch.setattr(connector_assets, "SYNC_RETRIES", None)  # the run fails at once
    result = materialize(
        [connector_assets.connector_asset("erp")],
        resources={
            "warehouse": WarehouseResource(database_url=db_url),
            "sources": SourcesResource(),
            "ledger": LedgerResource(),
        },
        raise_on_error=False,
    )
    assert not result.success
    with psycopg.connect(db_url) as conn:
        closed = conn.execute(
            "select batch_id, status from orderhub_meta.extraction_batches order by started_at"
        ).fetchall()
        assert [status for _, status in closed] == ["succeeded", "failed"]
        assert batch_entry(conn, closed[0][0]) is not None
        assert batch_entry(conn, closed[1][0]) is None
