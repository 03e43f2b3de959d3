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
    assert f"{change['key']}@{change['cursor']}" in str(found.run_key)
    assert set(found.asset_selection or []) == set(system_keys(system))
    again = tick(sensor, db_url)  # the same change, not yet synced: the same run key
    assert isinstance(again, RunRequest) and again.run_key == found.run_key

    sync_system(system, config, db_url, timeout=120)
    assert "nothing after the stored cursors" in str(tick(sensor, db_url))
