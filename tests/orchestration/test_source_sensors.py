"""The source change sensors against the sandbox (``python -m sandbox``, a separate process).

For each API system: before its first sync the sensor asks for one; after a sync it skips
(the probe finds nothing after the stored cursor, in one small request, not a sync); once
the sandbox moves a record on (``POST /changes``) it asks for a run of exactly that system's
connector assets, tagged with the system, under a run key that stays the same until the
change is synced; after the sync it skips again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    RunRequest,
    SensorDefinition,
    build_sensor_context,
)

from connectors.catalog import SYSTEMS
from connectors.config import configured_source
from connectors.errors import ConnectorError
from connectors.probes import probe_system
from connectors.resume import cursor_instant
from connectors.sync import read_state, sync_system
from orchestration.connector_assets import CONNECTOR_ASSETS
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource
from orchestration.source_sensors import SOURCE_SENSORS, sensor_name, system_keys
from orderhub.cli.sandbox import SandboxProcess, sandbox_command
from orderhub.settings import Settings, get_settings

SENSORS = {sensor.name: sensor for sensor in SOURCE_SENSORS}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe-home")


@pytest.fixture(scope="module")
def sandbox(home: Path) -> Iterator[SandboxProcess]:
    command = sandbox_command(Settings(home=home), orders=60, seed=11, anomalies=0, port=0)
    with SandboxProcess(command) as process:
        yield process


@pytest.fixture
def world(
    sandbox: SandboxProcess, home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings of a home whose sources are the sandbox's systems, on a fresh database."""
    monkeypatch.setenv("ORDERHUB_HOME", str(home))
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", db_url)
    for name, value in sandbox.source_environment().items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def tick(sensor: SensorDefinition, db_url: str) -> RunRequest | str:
    """One evaluation of ``sensor`` in definitions holding the connector assets: its run
    request, or its skip message."""
    resources = {
        "warehouse": WarehouseResource(database_url=db_url),
        "sources": SourcesResource(),
        "ledger": LedgerResource(),
    }
    definitions = Definitions(assets=CONNECTOR_ASSETS, sensors=[sensor], resources=resources)
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, resources=resources, definitions=definitions
        )
        data = sensor.evaluate_tick(context)
    if data.run_requests:
        (request,) = data.run_requests
        return request
    return str(data.skip_message)


def move_past_the_cursor(db_url: str, system: str, root_url: str) -> dict[str, Any]:
    """Move the newest movable record of ``system``'s first stream on at the sandbox (again,
    for a tracker whose next detail is still behind the stored cursor) until its new version
    lies at or after the stored cursor; the sandbox's account of that change."""
    stream = SYSTEMS[system].streams[0]
    with psycopg.connect(db_url) as conn:
        cursor = cursor_instant(read_state(conn, system)[stream.name][stream.cursor_field])
        rows = conn.execute(  # a tracker that was ever delivered stays so: not those
            f"select record_key, cursor_value from {SYSTEMS[system].raw_table(stream.name)}"
            " where not coalesce(data -> 'tracking_details', '[]')"
            ' @> \'[{"status": "delivered"}]\''
            " and coalesce(data ->> 'status', '') <> 'return_to_sender'"
        ).fetchall()
    newest, _ = max(rows, key=lambda row: (cursor_instant(row[1]), row[0]))
    ask: dict[str, Any] = {"keys": [int(newest) if system == "wms" else newest]}
    for _ in range(100):
        moved = httpx.post(f"{root_url}/changes", json={"system": system, **ask}, timeout=30)
        moved.raise_for_status()
        (change,) = moved.json()["changed"]
        if cursor_instant(change["cursor"]) >= cursor:  # type: ignore[operator]
            return dict(change)
        ask = {"keys": [change["key"]]}
    raise AssertionError(f"{system}: {ask} never moved past {cursor}")


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_a_source_is_synced_when_it_changed_and_only_then(
    system: str, world: Settings, sandbox: SandboxProcess, db_url: str
) -> None:
    sensor = SENSORS[sensor_name(system)]
    first = tick(sensor, db_url)
    assert isinstance(first, RunRequest), first  # never synced
    assert set(first.asset_selection or []) == set(system_keys(system))
    assert first.tags["orderhub/system"] == system

    config = configured_source(world, system)
    sync_system(system, config, db_url, timeout=120)
    assert "nothing after the stored cursors" in str(tick(sensor, db_url))

    change = move_past_the_cursor(db_url, system, sandbox.root_url)
    found = tick(sensor, db_url)
    assert isinstance(found, RunRequest), found
    # the run key names the first record not stored: its key and cursor instant (the ERP's
    # is the connector's LastChangeDateTime_utc, with milliseconds)
    first_new = str(found.run_key).rsplit("/", 1)[-1]
    key, _, at = first_new.rpartition("@")
    assert (key, cursor_instant(at)) == (str(change["key"]), cursor_instant(change["cursor"]))
    assert set(found.asset_selection or []) == set(system_keys(system))
    again = tick(sensor, db_url)  # the same change, not yet synced: the same run key
    assert isinstance(again, RunRequest) and again.run_key == found.run_key

    sync_system(system, config, db_url, timeout=120)
    assert "nothing after the stored cursors" in str(tick(sensor, db_url))


def test_the_tms_probe_judges_only_the_trackers_at_or_after_the_cursor(
    world: Settings, db_url: str
) -> None:
    """EasyPost cannot filter on updated_at, so the probe reads the newest page: a tracker
    on it updated before the stored cursor is no change, even one the raw table lacks (the
    sync would not read it either); one updated at or after the cursor is judged as usual."""
    config = configured_source(world, "tms")
    sync_system("tms", config, db_url, timeout=120)
    stream = SYSTEMS["tms"].streams[0]
    table = SYSTEMS["tms"].raw_table(stream.name)
    with psycopg.connect(db_url, autocommit=True) as conn:
        cursor = cursor_instant(read_state(conn, "tms")[stream.name][stream.cursor_field])
        rows = conn.execute(f"select record_key, cursor_value from {table}").fetchall()
        older = [key for key, value in rows if cursor_instant(value) < cursor]  # type: ignore[operator]
        newest = [key for key, value in rows if cursor_instant(value) >= cursor]  # type: ignore[operator]
        assert older and newest
        conn.execute(f"delete from {table} where record_key = %s", (older[0],))
        assert not probe_system("tms", config, db_url).changed
        conn.execute(f"delete from {table} where record_key = %s", (newest[0],))
    found = probe_system("tms", config, db_url)
    assert found.changed and f"/{newest[0]}@" in found.evidence


def test_an_odoo_error_answer_fails_the_wms_probe(world: Settings, db_url: str) -> None:
    """Odoo answers a refused API key with HTTP 200 and a JSON-RPC error: the probe fails
    with Odoo's exception name instead of reading it as a page."""
    config = configured_source(world, "wms")
    sync_system("wms", config, db_url, timeout=120)
    with pytest.raises(ConnectorError, match="AccessDenied"):
        probe_system("wms", {**config, "api_key": "not-the-key"}, db_url)
