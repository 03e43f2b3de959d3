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
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    asset,
    multi_asset,
)

from connectors.catalog import FILE_CONNECTOR, SYSTEMS
from connectors.sync import BatchResult, sync_system
from orchestration.provenance import extraction_metadata, log_extraction_batches
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource
from orchestration.sync_policy import (
    OWNER,
    SYNC_RETRIES,
    raw_asset_key,
    sync_freshness,
    sync_pool,
)
from orderhub.settings import get_settings

__all__ = ["CONNECTOR_ASSETS", "CONNECTOR_RESOURCES", "raw_asset_key"]


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
            freshness_policy=sync_freshness(),
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
        log = ledger.log(url)

        def closed(batch: BatchResult) -> None:
            # each batch is logged as it commits (a long stream closes several): its stored
            # rows stay traceable whatever happens to the rest of the run
            log_extraction_batches(log, [batch], context.log.info)

        batches = sync_system(
            system,
            sources.config(system),
            url,
            progress=context.log.info,
            timeout=sources.timeout_seconds,
            on_closed=closed,
        )
        for stream in spec.streams:
            ran = [batch for batch in batches if batch.stream == stream.name]
            metadata = extraction_metadata(ran)
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
        freshness_policy=sync_freshness(),
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
