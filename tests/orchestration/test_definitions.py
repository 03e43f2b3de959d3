"""The Dagster definitions load, and the asset graph has the shape the flow relies on.

Loading parses the dbt project once into a temporary home (``ORDERHUB_HOME``), as
``orderhub demo`` does; nothing runs. The graph is connectors → dbt staging → marts
(with blocking Great Expectations checks) → api views and forecast → ledger checkpoint.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, Definitions
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

from orderhub.settings import get_settings

CONNECTOR_KEYS = {
    AssetKey(["raw_erp", "sales_orders"]),
    AssetKey(["raw_crm", "fulfillment_orders"]),
    AssetKey(["raw_wms", "pickings"]),
    AssetKey(["raw_wms", "stock_quants"]),
    AssetKey(["raw_wms", "warehouses"]),
    AssetKey(["raw_tms", "trackers"]),
    AssetKey(["raw_file", "order_lines"]),
}
STAGING = {
    "stg_erp__sales_orders": AssetKey(["raw_erp", "sales_orders"]),
    "stg_crm__fulfillment_orders": AssetKey(["raw_crm", "fulfillment_orders"]),
    "stg_wms__pickings": AssetKey(["raw_wms", "pickings"]),
    "stg_wms__stock_quants": AssetKey(["raw_wms", "stock_quants"]),
    "stg_wms__warehouses": AssetKey(["raw_wms", "warehouses"]),
    "stg_tms__tracking_events": AssetKey(["raw_tms", "trackers"]),
    "stg_file__order_lines": AssetKey(["raw_file", "order_lines"]),
}
STOCK_KEYS = {AssetKey(["raw_wms", "stock_quants"]), AssetKey(["raw_wms", "warehouses"])}
FORECAST = AssetKey(["ml", "demand_forecasts"])
FULFILMENT = AssetKey(["fulfilment", "decisions"])
CHECKPOINT = AssetKey(["ledger", "checkpoint"])


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Definitions]:
    """``orchestration.definitions.defs``, loaded with a temporary home."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("ORDERHUB_")}
    for name in saved:
        del os.environ[name]
    os.environ["ORDERHUB_HOME"] = str(tmp_path_factory.mktemp("defs-home"))
    get_settings.cache_clear()
    try:
        yield importlib.import_module("orchestration.definitions").defs
    finally:
        os.environ.pop("ORDERHUB_HOME", None)
        os.environ.update(saved)
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def graph(defs: Definitions) -> AssetGraph:
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def manifest(defs: Definitions) -> dict[str, Any]:
    from orchestration.dbt_assets import PROJECT

    return dict(json.loads(Path(PROJECT.manifest_path).read_text()))


def parents(graph: AssetGraph, key: AssetKey) -> set[AssetKey]:
    return set(graph.get(key).parent_keys)


def test_definitions_are_loadable(defs: Definitions) -> None:
    Definitions.validate_loadable(defs)


def test_every_asset_is_materialized_by_orderhub(graph: AssetGraph) -> None:
    external = [k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_external]
    assert external == []
    assert all(graph.get(k).is_materializable for k in graph.get_all_asset_keys())


def test_connector_assets_are_the_roots_of_the_raw_data(graph: AssetGraph) -> None:
    keys = graph.get_all_asset_keys()
    assert keys >= CONNECTOR_KEYS
    assert {k for k in keys if k.path[0].startswith("raw_")} == CONNECTOR_KEYS
    for key in CONNECTOR_KEYS:
        node = graph.get(key)
        assert node.parent_keys == set(), key
        assert node.group_name == "connectors"
        assert ("file" if key.path[0] == "raw_file" else "airbyte") in node.kinds


def test_staging_models_read_the_connector_assets(graph: AssetGraph) -> None:
    for model, raw in STAGING.items():
        assert parents(graph, AssetKey([model])) == {raw}, model
        assert AssetKey([model]) in graph.get(raw).child_keys


def test_every_dbt_source_is_an_asset_or_deliberately_dropped(
    graph: AssetGraph, manifest: dict[str, Any]
) -> None:
    keys = graph.get_all_asset_keys()
    dbt_parents = set().union(
        *(parents(graph, k) for k in keys if graph.get(k).group_name in ("canonical_model", "api"))
    )
    sources = {AssetKey([s["schema"], s["name"]]) for s in manifest["sources"].values()}
    assert sources >= CONNECTOR_KEYS
    for source in sources:
        if source.path[0].startswith("raw_"):
            assert source in CONNECTOR_KEYS, source
            assert source in dbt_parents, source
        else:  # written by the forecast, the ledger and the connectors' bookkeeping, only read
            assert source.path[0] in ("ml", "fulfilment", "ledger", "orderhub_meta"), source
            assert source not in dbt_parents, source
    assert AssetKey(["ledger", "checkpoints"]) not in keys


def test_dbt_source_tests_are_checks_on_the_connector_assets(graph: AssetGraph) -> None:
    for key in CONNECTOR_KEYS:
        system, stream = key.path[0].removeprefix("raw_"), key.path[1]
        names = {check.name for check in graph.get(key).check_keys}
        assert {
            f"source_not_null_{system}_{stream}_record_key",
            f"source_not_null_{system}_{stream}_content_hash",
        } <= names, key


def test_canonical_events_have_the_blocking_gx_check(graph: AssetGraph) -> None:
    events = AssetKey(["fct_order_status_events"])
    checks = {check.name: check for check in graph.get(events).check_keys}
    assert "gx_canonical_events" in checks
    spec = graph.get_check_spec(checks["gx_canonical_events"])
    assert spec.blocking
    # every API system sends statuses; the file source's order lines and the WMS's stock and
    # warehouses carry none
    stockless = CONNECTOR_KEYS - {AssetKey(["raw_file", "order_lines"]), *STOCK_KEYS}
    assert parents(graph, events) >= stockless


def test_every_gx_check_is_blocking(graph: AssetGraph) -> None:
    gx = [c for c in graph.asset_check_keys if c.name.startswith("gx_")]
    assert gx
    assert all(graph.get_check_spec(c).blocking for c in gx)


def test_forecast_reads_daily_demand(graph: AssetGraph) -> None:
    assert parents(graph, FORECAST) == {AssetKey(["fct_daily_demand"])}


def test_checkpoint_follows_the_forecast_and_every_api_view(graph: AssetGraph) -> None:
    api = {k for k in graph.get_all_asset_keys() if k.path[-1].startswith("api_")}
    assert api and all(graph.get(k).group_name == "api" for k in api)
    assert parents(graph, CHECKPOINT) >= {FORECAST, FULFILMENT, *api}


def test_fulfilment_follows_the_forecast_the_marts_and_the_stock(graph: AssetGraph) -> None:
    assert parents(graph, FULFILMENT) >= {
        FORECAST,
        AssetKey(["fct_order_current_status"]),
        AssetKey(["stg_wms__stock_quants"]),
        AssetKey(["stg_wms__warehouses"]),
    }


def test_the_ledger_group_is_the_checkpoint_and_its_anchors(graph: AssetGraph) -> None:
    ledger = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "ledger"}
    # no batch_trees asset: the loader stores each batch's tree as the batch succeeds
    assert ledger == {CHECKPOINT, AssetKey(["ledger", "anchors"])}


def test_every_asset_has_an_owner(graph: AssetGraph) -> None:
    ownerless = [k.to_user_string() for k in graph.get_all_asset_keys() if not graph.get(k).owners]
    assert ownerless == []


def test_full_flow_job_covers_every_asset(defs: Definitions, graph: AssetGraph) -> None:
    job = defs.resolve_job_def("orderhub_full_flow")
    assert set(job.asset_layer.selected_asset_keys) == set(graph.get_all_asset_keys())
    assert set(job.loggers) >= {"console", "progress"}


def test_incremental_sync_schedule(defs: Definitions) -> None:
    schedule = defs.resolve_schedule_def("incremental_sync")
    assert schedule.cron_schedule == "*/15 * * * *"
    assert schedule.job_name == "orderhub_full_flow"


def test_loggers(defs: Definitions) -> None:
    assert defs.loggers is not None
    assert set(defs.loggers) >= {"console", "progress"}


def test_dbt_runs_from_this_environment(defs: Definitions) -> None:
    """``orderhub`` started without the venv on PATH still finds the venv's dbt."""
    dbt = defs.resources["dbt"].dbt_executable
    assert Path(dbt) == Path(sys.executable).with_name("dbt")
    assert Path(dbt).exists()


def test_every_guard_is_a_blocking_check(graph: AssetGraph) -> None:
    guards = {c.name for c in graph.asset_check_keys if c.name.startswith("guard_")}
    assert {"guard_orders_row_count", "guard_status_distribution"} <= guards
    assert all(
        graph.get_check_spec(c).blocking
        for c in graph.asset_check_keys
        if c.name.startswith("guard_")
    )


def test_connector_syncs_retry_with_backoff_one_at_a_time_per_system(defs: Definitions) -> None:
    from dagster import Backoff

    for key in CONNECTOR_KEYS:
        node = defs.resolve_assets_def(key).node_def
        assert node.retry_policy is not None and node.retry_policy.backoff == Backoff.EXPONENTIAL
        assert node.pool == f"sync_{key.path[0].removeprefix('raw_')}", key


def test_every_asset_states_its_freshness(graph: AssetGraph) -> None:
    stale_unknown = [
        key for key in graph.get_all_asset_keys() if graph.get(key).freshness_policy is None
    ]
    assert stale_unknown == []


def test_sensors_and_source_freshness(defs: Definitions, graph: AssetGraph) -> None:
    names = {sensor.name for sensor in defs.sensors or []}
    assert names == {"run_failure_case", "stale_assets", "unpublished_backlog"}
    for key in CONNECTOR_KEYS - {AssetKey(["raw_file", "order_lines"])}:
        assert "dbt_source_freshness" in {check.name for check in graph.get(key).check_keys}
