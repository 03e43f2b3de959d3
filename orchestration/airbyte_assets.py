"""Connector assets from an Airbyte server, through dagster-airbyte, when one is configured.

With ``ORDERHUB_AIRBYTE_URL`` and ``ORDERHUB_AIRBYTE_WORKSPACE_ID`` set (and the API's OAuth
client: ``ORDERHUB_AIRBYTE_CLIENT_ID`` and the secret ``airbyte-client-secret``), the
workspace's ``orderhub-<system>`` connections (made by ``orderhub connectors deploy``) become
the connector assets: one multi-asset per connection whose materialization starts a sync job
on the server, waits for it, then ingests what the destination wrote into ``raw_<system>``
(:mod:`connectors.airbyte_ingest`: the embedded runner's loader, quarantine and batches) and
logs one ``extraction_batch`` provenance event per batch. A translator gives each stream the
asset key the embedded runner's asset has, ``["raw_<system>", "<stream>"]``, so the dbt
sources depend on them exactly as they do on the embedded ones, and read the same tables.
Other connections of the workspace are left out. A connection's assets run as the embedded
runner's do (:mod:`orchestration.sync_policy`): the same retry policy with backoff and
jitter, the same concurrency pool per system, the same freshness policy.
"""

from collections.abc import Iterator, Sequence

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)
from dagster import _check as check
from dagster_airbyte import AirbyteWorkspace, DagsterAirbyteTranslator
from dagster_airbyte.resources import BaseAirbyteWorkspace
from dagster_airbyte.translator import (
    AirbyteConnection,
    AirbyteConnectionTableProps,
    AirbyteMetadataSet,
)
from dagster_airbyte.utils import clean_name

from connectors.airbyte_client import AirbyteServer
from connectors.airbyte_config import destination_namespace, system_of
from connectors.airbyte_ingest import ingest_system
from orchestration.provenance import log_extraction_batches
from orchestration.resources import LedgerResource, WarehouseResource
from orchestration.sync_policy import (
    OWNER,
    SYNC_RETRIES,
    raw_asset_key,
    sync_freshness,
    sync_pool,
)
from orderhub.secrets import airbyte_client_secret
from orderhub.settings import Settings


class OrderhubAirbyteTranslator(DagsterAirbyteTranslator):
    """Asset specs of orderhub connections, keyed like the embedded connector assets."""

    def get_asset_spec(self, props: AirbyteConnectionTableProps) -> AssetSpec:
        spec = super().get_asset_spec(props)
        system = system_of(props.connection_name)
        if system is None:
            return spec
        return spec.replace_attributes(
            key=raw_asset_key(system, props.stream_name),
            group_name="connectors",
            owners=[OWNER],
            freshness_policy=sync_freshness(),
            description=(
                f"Records of the {system.upper()} stream `{props.stream_name}`, synced by the "
                f"Airbyte connection {props.connection_name} (manifest "
                f"connectors/manifests/{system}.yaml) into "
                f"{destination_namespace(system)}.{props.stream_name}."
            ),
        ).merge_attributes(metadata={"manifest": f"connectors/manifests/{system}.yaml"})


def airbyte_workspace(
    settings: Settings, *, poll_interval: float = 10.0
) -> AirbyteWorkspace | None:
    """The configured Airbyte workspace, or None when no server is configured."""
    if not settings.airbyte_url:
        return None
    if not settings.airbyte_workspace_id:
        raise ValueError("ORDERHUB_AIRBYTE_URL is set: set ORDERHUB_AIRBYTE_WORKSPACE_ID too")
    server = AirbyteServer(settings.airbyte_url, settings.airbyte_workspace_id)
    client_id = settings.airbyte_client_id
    client_secret = airbyte_client_secret(settings, client_id)
    return AirbyteWorkspace(
        rest_api_base_url=server.public_api,
        configuration_api_base_url=server.configuration_api,
        workspace_id=server.workspace_id,
        client_id=client_id,
        client_secret=client_secret,
        poll_interval=poll_interval,
    )


def _is_orderhub(connection: AirbyteConnection) -> bool:
    return system_of(connection.name) is not None


def airbyte_connector_assets(workspace: AirbyteWorkspace) -> Sequence[AssetsDefinition]:
    """One multi-asset per orderhub connection of ``workspace`` (read from the server)."""
    translator = OrderhubAirbyteTranslator()
    specs = workspace.load_asset_specs(
        dagster_airbyte_translator=translator, connection_selector_fn=_is_orderhub
    )
    by_connection: dict[tuple[str, str], list[AssetSpec]] = {}
    for spec in specs:
        airbyte = AirbyteMetadataSet.extract(spec.metadata)
        pair = (check.not_none(airbyte.connection_id), check.not_none(airbyte.connection_name))
        by_connection.setdefault(pair, []).append(spec)
    return [
        _connection_assets(name, by_connection[(connection_id, name)])
        for connection_id, name in sorted(by_connection, key=lambda pair: pair[1])
    ]


def _connection_assets(connection_name: str, specs: list[AssetSpec]) -> AssetsDefinition:
    """The multi-asset of one connection's streams: what dagster-airbyte's ``airbyte_assets``
    decorator makes (a subsettable multi-asset of the connection's specs), with the sync
    policy's retries and pool."""
    system = check.not_none(system_of(connection_name))

    @multi_asset(
        name=f"airbyte_{clean_name(connection_name)}",
        can_subset=True,
        specs=specs,
        retry_policy=SYNC_RETRIES,
        pool=sync_pool(system),
    )
    def _sync_and_ingest(
        context: AssetExecutionContext,
        airbyte: BaseAirbyteWorkspace,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> Iterator[MaterializeResult | AssetMaterialization]:
        synced = list(airbyte.sync_and_poll(context=context))
        url = warehouse.url()
        batches = ingest_system(system, url, progress=context.log.info)
        ingested = log_extraction_batches(ledger.log(url), batches, context.log.info)
        for event in synced:
            if isinstance(event, MaterializeResult):
                yield MaterializeResult(
                    asset_key=event.asset_key, metadata={**(event.metadata or {}), **ingested}
                )
            else:
                yield event

    return _sync_and_ingest
