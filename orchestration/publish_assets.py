"""Publish: the signed ledger checkpoint over everything the run recorded.

Runs after the api views, the forecast and the fulfilment decisions: records a ``publish``
event, signs a checkpoint of the log (C2SP signed note), and tells PostgREST to reload its
schema cache so the API sees the new views at once.
"""

import psycopg
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration.dbt_assets import api_views
from orchestration.forecast_assets import FORECAST_KEY
from orchestration.freshness import policy
from orchestration.fulfilment_assets import FULFILMENT_KEY
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.api import reload_schema_cache
from orderhub.publishing import published_colour

CHECKPOINT_KEY = AssetKey(["ledger", "checkpoint"])
#: The api views this checkpoint publishes (the dbt models under models/api).
API_VIEWS: tuple[AssetKey, ...] = tuple(sorted(api_views.keys, key=AssetKey.to_user_string))


@asset(
    key=CHECKPOINT_KEY,
    deps=[FORECAST_KEY, FULFILMENT_KEY, *API_VIEWS],
    group_name="ledger",
    kinds={"postgres"},
    owners=["team:data-platform"],
    freshness_policy=policy("ledger"),
    description="Signed checkpoint (RFC 9162 tree head, C2SP signed note) of the provenance log.",
)
def ledger_checkpoint(
    context: AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> MaterializeResult:
    url = warehouse.url()
    log = ledger.log(url)
    with psycopg.connect(url) as conn:
        colour = published_colour(conn)
    log.append_event(
        "publish",
        {
            "schema": "api",
            "colour": colour,
            "views": [key.to_user_string() for key in API_VIEWS],
            "run_id": context.run_id,
        },
    )
    checkpoint = log.checkpoint()
    reload_schema_cache(url)
    root = checkpoint.root_hash.hex()
    context.log.info(f"checkpoint: tree size {checkpoint.size}, root {root}")
    return MaterializeResult(
        metadata={"tree_size": checkpoint.size, "root": root, "colour": colour or ""}
    )
