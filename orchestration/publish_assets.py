"""Publish: the signed ledger checkpoint over everything the run recorded.

Runs after the api views and the forecast: records a ``publish`` event, signs a
checkpoint of the log (C2SP signed note), and tells PostgREST to reload its
schema cache so the API sees the new views at once.
"""

from __future__ import annotations

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration.forecast_assets import FORECAST_KEY
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.api import reload_schema_cache

CHECKPOINT_KEY = AssetKey(["ledger", "checkpoint"])
API_VIEWS = ("orders", "order_events", "order_timeline", "order_exceptions", "daily_demand")


@asset(
    key=CHECKPOINT_KEY,
    deps=[FORECAST_KEY, *(AssetKey([view]) for view in API_VIEWS)],
    group_name="ledger",
    kinds={"postgres"},
    owners=["team:data-platform"],
    description="Signed checkpoint (RFC 9162 tree head, C2SP signed note) of the provenance log.",
)
def ledger_checkpoint(
    context: AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> MaterializeResult:
    url = warehouse.url()
    log = ledger.log(url)
    log.append_event(
        "publish", {"schema": "api", "views": list(API_VIEWS), "run_id": context.run_id}
    )
    checkpoint = log.checkpoint()
    reload_schema_cache(url)
    context.log.info(f"checkpoint: tree size {checkpoint.tree_size}, root {checkpoint.root_hex}")
    return MaterializeResult(
        metadata={"tree_size": checkpoint.tree_size, "root": checkpoint.root_hex}
    )
