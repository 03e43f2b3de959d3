"""Connector assets: one per source stream, landing records in ``raw_<system>``.

Each materialization runs the system's declarative manifest through the embedded
Airbyte-protocol runner, then records one ``extraction_batch`` provenance event
per batch (with the batch's Merkle root and the count of quarantined records).

When an Airbyte server is configured (``ORDERHUB_AIRBYTE_URL``), the connector assets are
its connections instead (:mod:`orchestration.airbyte_assets`), with the same asset keys, and
``CONNECTOR_RESOURCES`` holds the ``airbyte`` workspace resource they need.

The file source's asset is always in the graph (``raw_file.order_lines`` is a dbt source
like the others), and syncs the file ``ORDERHUB_FILE_SOURCE__LOCATION`` names; with none
configured (the demo's default) it records that and loads nothing.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Jitter,
    MaterializeResult,
    RetryPolicy,
    asset,
    multi_asset,
)

from connectors.catalog import FILE_CONNECTOR, SYSTEMS
from connectors.sync import sync_system
from orchestration.freshness import policy
from orchestration.provenance import log_extraction_batches
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource
from orderhub.settings import get_settings

OWNER = "team:data-platform"
#: A failed sync is retried with exponential backoff (10 s, 20 s, 40 s, each +/- half):
#: a source that is down for a minute costs a late run, not a failed one.
SYNC_RETRIES = RetryPolicy(
    max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def sync_pool(system: str) -> str:
    """The concurrency pool of ``system``'s syncs: its limit (1, ``dagster.yaml``) keeps two
    syncs of one system from overlapping, across runs."""
    return f"sync_{system}"


def raw_asset_key(system: str, stream: str) -> AssetKey:
    """Asset key of a raw table; equals the key dagster-dbt gives the dbt source."""
    return AssetKey([f"raw_{system}", stream])


def connector_asset(system: str) -> AssetsDefinition:
    """The asset that syncs ``system``'s streams into their raw tables (one run of the
    manifest reads them all: the WMS's pickings, stock quants and warehouses)."""
    spec = SYSTEMS[system]
    specs = [
        AssetSpec(
            key=raw_asset_key(system, stream.name),
            group_name="connectors",
            kinds={"airbyte", "postgres"},
            owners=[OWNER],
            description=(
                f"Records of the {system.upper()} stream `{stream.name}` as extracted by the "
                f"declarative manifest connectors/manifests/{system}.yaml (one row per distinct "
                "version, with batch id and content hash)."
            ),
            metadata={"manifest": f"connectors/manifests/{system}.yaml"},
            freshness_policy=policy("connectors"),
        )
        for stream in spec.streams
    ]

    @multi_asset(
        name=f"raw_{system}", specs=specs, retry_policy=SYNC_RETRIES, pool=sync_pool(system)
    )
    def _sync(
        context: AssetExecutionContext,
        warehouse: WarehouseResource,
        sources: SourcesResource,
        ledger: LedgerResource,
    ) -> Iterator[MaterializeResult]:
        url = warehouse.url()
        batches = sync_system(
            system,
            sources.config(system),
            url,
            progress=context.log.info,
            timeout=sources.timeout_seconds,
        )
        log = ledger.log(url)
        for stream in spec.streams:
            ran = [batch for batch in batches if batch.stream == stream.name]
            metadata = log_extraction_batches(log, ran, context.log.info)
            yield MaterializeResult(asset_key=raw_asset_key(system, stream.name), metadata=metadata)

    return _sync


def file_asset() -> AssetsDefinition:
    """The asset that syncs the configured file of order lines into ``raw_file``."""
    stream = FILE_CONNECTOR.streams[0].name

    @asset(
        key=raw_asset_key(FILE_CONNECTOR.name, stream),
        group_name="connectors",
        kinds={"file", "postgres"},
        owners=[OWNER],
        description=(
            "Order lines from the configured CSV, JSON Lines or Parquet file (path or URL), "
            "mapped column by column (connectors/file_source), one row per distinct version."
        ),
        retry_policy=SYNC_RETRIES,
        pool=sync_pool(FILE_CONNECTOR.name),
        freshness_policy=policy("connectors"),
    )
    def _sync(
        context: AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
    ) -> MaterializeResult:
        from connectors.file_source.sync import sync_file

        source = get_settings().file_source
        if source is None:
            context.log.info("no file source configured (ORDERHUB_FILE_SOURCE__LOCATION)")
            return MaterializeResult(metadata={"location": "", "records_read": 0})
        url = warehouse.url()
        batches = sync_file(source, url, progress=context.log.info)
        metadata = log_extraction_batches(ledger.log(url), batches, context.log.info)
        return MaterializeResult(metadata={**metadata, "location": source.location})

    return _sync


def connector_assets() -> tuple[list[AssetsDefinition], dict[str, Any]]:
    """The connector assets and the resources they need: the Airbyte server's connections
    when one is configured, else the embedded runner's assets; and the file source's."""
    settings = get_settings()
    files = [file_asset()]
    if not settings.airbyte_url:  # dagster-airbyte is only imported when a server is set
        return [connector_asset(system) for system in SYSTEMS] + files, {}
    from orchestration.airbyte_assets import airbyte_connector_assets, airbyte_workspace

    workspace = airbyte_workspace(settings)
    assert workspace is not None
    return list(airbyte_connector_assets(workspace)) + files, {"airbyte": workspace}


CONNECTOR_ASSETS, CONNECTOR_RESOURCES = connector_assets()
