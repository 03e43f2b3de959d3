"""The connector assets taken from an Airbyte server through dagster-airbyte, against a stub.

No Airbyte server runs here: :mod:`airbyte_stub` follows Airbyte's public API (and the one
Configuration API call dagster-airbyte makes). The workspace is filled by
``connectors.airbyte_server.deploy``, as ``orderhub connectors deploy`` would. The tests check
the asset keys equal the embedded runner's (so the dbt sources line up), that the definitions
load with the server configured and the dbt staging models depend on those assets, and that
materializing a connection's assets starts a sync job on the server, waits for it, and ingests
what the destination wrote (:func:`connector_stubs.write_airbyte_raw` plays the destination)
into ``raw_<system>`` with its provenance event.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from airbyte_stub import AirbyteStub
from connector_stubs import expected_rows, raw_rows, table, write_airbyte_raw
from dagster import AssetKey, AssetsDefinition, Definitions, materialize

from connectors.airbyte_server import AirbyteServer, Warehouse, deploy
from connectors.catalog import SYSTEMS
from connectors.config import source_config
from orchestration.airbyte_assets import airbyte_connector_assets, airbyte_workspace
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.settings import Settings, get_settings
from orderhub.sources import SOURCE_OPTIONS
from sandbox.scenario import Scenario

RAW_KEYS = {AssetKey([f"raw_{s}", st.name]) for s, c in SYSTEMS.items() for st in c.streams}
STAGING = {
    "stg_erp__sales_orders": AssetKey(["raw_erp", "sales_orders"]),
    "stg_tms__tracking_events": AssetKey(["raw_tms", "trackers"]),
}


@pytest.fixture(scope="module")
def stub() -> Iterator[AirbyteStub]:
    """A stub workspace holding the four orderhub connections and one foreign connection."""
    with AirbyteStub() as server:
        configs = {
            system: source_config(
                system,
                f"http://sandbox:8080/{system}",
                {field: "x" * 12 for field in SYSTEMS[system].secret_fields},
                options=SOURCE_OPTIONS.get(system),
            )
            for system in SYSTEMS
        }
        target = AirbyteServer(
            server.url, server.workspace_id, server.client_id, server.client_secret
        )
        deploy(target, configs, Warehouse.from_url("postgresql://u:p@db:5432/warehouse"))
        erp = next(c for c in server.connections.values() if c["name"] == "orderhub-erp")
        foreign = {**erp, "connectionId": "foreign-connection", "name": "marketing-hubspot"}
        server.connections[foreign["connectionId"]] = foreign
        yield server


def environment(stub: AirbyteStub, home: Path) -> dict[str, str]:
    return {
        "ORDERHUB_HOME": str(home),
        "ORDERHUB_AIRBYTE_URL": stub.url,
        "ORDERHUB_AIRBYTE_WORKSPACE_ID": stub.workspace_id,
        "ORDERHUB_AIRBYTE_CLIENT_ID": stub.client_id,
        "ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET": stub.client_secret,
    }


def settings_for(stub: AirbyteStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in environment(stub, tmp_path).items():
        monkeypatch.setenv(name, value)
    return Settings()


def keys_of(assets: list[AssetsDefinition]) -> set[AssetKey]:
    return {key for definition in assets for key in definition.keys}


def test_no_server_configured_means_no_workspace(tmp_path: Path) -> None:
    assert airbyte_workspace(Settings(home=tmp_path)) is None


def test_a_client_id_without_its_secret_is_named(
    stub: AirbyteStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(stub, tmp_path, monkeypatch)
    monkeypatch.delenv("ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET")
    with pytest.raises(ValueError, match="ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET"):
        airbyte_workspace(settings)


def test_connections_become_assets_keyed_like_the_embedded_ones(
    stub: AirbyteStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = airbyte_workspace(settings_for(stub, tmp_path, monkeypatch))
    assert workspace is not None
    assets = list(airbyte_connector_assets(workspace))
    assert len(assets) == len(SYSTEMS)  # one multi-asset per orderhub connection, no foreign
    assert keys_of(assets) == RAW_KEYS
    for definition in assets:
        for spec in definition.specs:
            assert spec.group_name == "connectors" and spec.owners
            assert "airbyte" in spec.kinds
            assert spec.metadata["dagster-airbyte/connection_name"].startswith("orderhub-")


def test_materializing_a_connection_syncs_on_the_server_and_ingests_into_raw(
    stub: AirbyteStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    settings = settings_for(stub, tmp_path, monkeypatch)
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    workspace = airbyte_workspace(settings, poll_interval=0.05)
    assert workspace is not None
    (erp,) = [
        a
        for a in airbyte_connector_assets(workspace)
        if AssetKey(["raw_erp", "sales_orders"]) in a.keys
    ]
    records = Scenario(seed=3, orders=12).records("erp")
    synced: list[str] = []

    def destination_writes(connection: dict[str, Any]) -> None:  # what Airbyte's sync leaves
        synced.append(connection["name"])
        write_airbyte_raw(db_url, "erp", records, datetime.now(UTC))

    stub.on_sync = destination_writes
    jobs_before = set(stub.jobs)
    try:
        result = materialize(
            [erp],
            resources={
                "airbyte": workspace,
                "warehouse": WarehouseResource(database_url=db_url),
                "ledger": LedgerResource(),
            },
        )
    finally:
        stub.on_sync = None
        get_settings.cache_clear()
    assert result.success and synced == ["orderhub-erp"]
    (materialization,) = result.get_asset_materialization_events()
    assert materialization.asset_key == AssetKey(["raw_erp", "sales_orders"])
    metadata = materialization.materialization.metadata
    assert metadata["records_stored"].value == len(records)
    (job_id,) = set(stub.jobs) - jobs_before
    job = stub.jobs[job_id]
    connection = stub.connections[job["connectionId"]]
    assert (connection["name"], job["jobType"], job["status"]) == (
        "orderhub-erp",
        "sync",
        "succeeded",
    )
    assert stub.calls("POST", "/api/public/v1/jobs") == [
        {"connectionId": connection["connectionId"], "jobType": "sync"}
    ]
    # the dbt sources read raw_erp as on the embedded path, and the batch is in the ledger
    assert raw_rows(db_url, table("erp")) == expected_rows("erp", records)
    with psycopg.connect(db_url) as conn:
        (kind, batch_id) = conn.execute(
            "select ledger.entry(body) ->> 'kind', ledger.entry(body) #>> '{payload,batch_id}'"
            " from ledger.leaves order by idx desc limit 1"
        ).fetchone() or (None, None)
    assert kind == "extraction_batch" and batch_id in metadata["batch_ids"].value


@pytest.fixture
def airbyte_definitions(
    stub: AirbyteStub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Definitions]:
    """``orchestration.definitions`` loaded with the Airbyte server configured."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("ORDERHUB_")}
    for name in saved:
        del os.environ[name]
    os.environ.update(environment(stub, tmp_path_factory.mktemp("airbyte-defs-home")))
    get_settings.cache_clear()
    try:
        connector_assets = importlib.reload(
            importlib.import_module("orchestration.connector_assets")
        )
        definitions = importlib.reload(importlib.import_module("orchestration.definitions"))
        assert connector_assets.CONNECTOR_RESOURCES
        yield definitions.defs
    finally:
        for name in environment(stub, Path()):
            os.environ.pop(name, None)
        os.environ.update(saved)
        get_settings.cache_clear()
        importlib.reload(importlib.import_module("orchestration.connector_assets"))
        importlib.reload(importlib.import_module("orchestration.definitions"))


def test_definitions_take_the_connections_and_dbt_depends_on_them(
    airbyte_definitions: Definitions,
) -> None:
    Definitions.validate_loadable(airbyte_definitions)
    graph = airbyte_definitions.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    # the file source is read by orderhub itself, whether or not an Airbyte server runs
    file_key = AssetKey(["raw_file", "order_lines"])
    assert {k for k in keys if k.path[0].startswith("raw_")} == RAW_KEYS | {file_key}
    assert "file" in graph.get(file_key).kinds
    for key in RAW_KEYS:
        node = graph.get(key)
        assert node.group_name == "connectors" and "airbyte" in node.kinds
        metadata: Any = node.metadata
        assert metadata["dagster-airbyte/connection_id"]  # an Airbyte connection's asset
    for model, raw in STAGING.items():
        assert set(graph.get(AssetKey([model])).parent_keys) == {raw}
    assert "airbyte" in airbyte_definitions.resources


def test_connections_retry_pool_and_freshness_as_the_embedded_assets(
    airbyte_definitions: Definitions,
) -> None:
    """A connection's sync retries with the embedded runner's backoff and jitter, runs in its
    system's pool (two syncs of one system never overlap) and states the same freshness."""
    from dagster import Backoff, Jitter

    from orchestration.freshness import policy

    graph = airbyte_definitions.resolve_asset_graph()
    for key in RAW_KEYS:
        node = airbyte_definitions.resolve_assets_def(key).node_def
        retry = node.retry_policy
        assert retry is not None and retry.max_retries >= 1, key
        assert (retry.backoff, retry.jitter) == (Backoff.EXPONENTIAL, Jitter.PLUS_MINUS), key
        assert node.pool == f"sync_{key.path[0].removeprefix('raw_')}", key
        assert graph.get(key).freshness_policy == policy("connectors"), key
