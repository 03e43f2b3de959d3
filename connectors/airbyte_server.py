"""Publish the declarative manifests to an Airbyte server, through its public API.

For each source system, :func:`deploy` makes sure the workspace holds, by name:

- a custom declarative source definition ``orderhub-<system>`` carrying the manifest
  (``POST``/``PUT /workspaces/{id}/definitions/declarative_sources``);
- a source ``orderhub-<system>`` of that definition with the system's config
  (``POST /sources`` or ``PATCH /sources/{id}``);
- one PostgreSQL destination ``orderhub-warehouse`` pointed at the warehouse
  (``POST /destinations`` or ``PATCH /destinations/{id}``);
- a manual connection ``orderhub-<system>`` from the source to the destination, reading each
  stream incrementally (append, cursor as in the manifest) under the namespace
  ``airbyte_<system>`` (``POST /connections`` or ``PATCH /connections/{id}``).

Re-running updates what exists instead of adding duplicates. Requests go through the
``airbyte-api`` SDK (:mod:`connectors.airbyte_client`) with explicit models for every
configuration (:mod:`connectors.airbyte_config`) (a plain dict handed to the SDK becomes another
connector's model: docs/architecture.md, "Known traps in the stack").

The destination is set to "raw tables only" (``disable_type_dedupe``): every record version
whole in ``_airbyte_data`` of ``airbyte_internal.airbyte_<system>_raw__stream_<stream>``,
which :mod:`connectors.airbyte_ingest` reads. destination-postgres 3.x (Direct Load) writes no
raw table otherwise, only typed, deduplicated final tables, whose rows are no longer the
records as the source sent them (numbers cast, one version per key); 2.x writes the raw table
either way. Supported: destination-postgres 2.x and 3.x with this option (connectors/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_api import api, models

from connectors.airbyte_client import AirbyteServer, list_all, required
from connectors.airbyte_config import (
    AIRBYTE_RAW_SCHEMA,
    DESTINATION_NAME,
    SOURCE_CONFIGURATIONS,
    Warehouse,
    airbyte_raw_table,
    destination_namespace,
    explicit_models,
    resource_name,
    source_configuration,
    system_of,
)
from connectors.catalog import SYSTEMS, get_connector

__all__ = [
    "AIRBYTE_RAW_SCHEMA",
    "DESTINATION_NAME",
    "SOURCE_CONFIGURATIONS",
    "AirbyteServer",
    "Deployed",
    "Warehouse",
    "airbyte_raw_table",
    "deploy",
    "destination_namespace",
    "resource_name",
    "source_configuration",
    "system_of",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Deployed:
    """What :func:`deploy` left on the server for one system (``created``: new, not updated)."""

    system: str
    definition_id: str
    source_id: str
    destination_id: str
    connection_id: str
    created: tuple[str, ...]


class _Deployer:
    def __init__(self, server: AirbyteServer, progress: Progress | None) -> None:
        self.server = server
        self.sdk = server.client()
        self.say = progress or (lambda _: None)

    def _definitions(self) -> dict[str, str]:
        response = self.sdk.declarative_source_definitions.list_declarative_source_definitions(
            request=api.ListDeclarativeSourceDefinitionsRequest(
                workspace_id=self.server.workspace_id
            )
        )
        found = required(response.declarative_source_definitions_response, "definitions")
        return {d.name: d.id for d in found.data}

    def definition(self, system: str, existing: Mapping[str, str]) -> tuple[str, bool]:
        name = resource_name(system)
        manifest = get_connector(system).manifest()
        if name in existing:
            self.sdk.declarative_source_definitions.update_declarative_source_definition(
                request=api.UpdateDeclarativeSourceDefinitionRequest(
                    workspace_id=self.server.workspace_id,
                    definition_id=existing[name],
                    update_declarative_source_definition_request=(
                        models.UpdateDeclarativeSourceDefinitionRequest(manifest=manifest)
                    ),
                )
            )
            return existing[name], False
        response = self.sdk.declarative_source_definitions.create_declarative_source_definition(
            request=api.CreateDeclarativeSourceDefinitionRequest(
                workspace_id=self.server.workspace_id,
                create_declarative_source_definition_request=(
                    models.CreateDeclarativeSourceDefinitionRequest(name=name, manifest=manifest)
                ),
            )
        )
        return required(response.declarative_source_definition_response, "definition").id, True

    def _named(
        self, list_: Callable[..., Any], request: Callable[..., Any], answer: str, key: str
    ) -> dict[str, str]:
        """Name -> id (the attribute ``key``) of every item of one of the workspace's lists."""
        found = list_all(self.server.workspace_id, list_, request, answer)
        return {item.name: getattr(item, key) for item in found}

    def _sources(self) -> dict[str, str]:
        return self._named(
            self.sdk.sources.list_sources, api.ListSourcesRequest, "sources_response", "source_id"
        )

    def source(
        self,
        system: str,
        definition_id: str,
        config: Mapping[str, Any],
        existing: Mapping[str, str],
    ) -> tuple[str, bool]:
        name = resource_name(system)
        configuration = source_configuration(system, config)
        with explicit_models():
            if name in existing:
                patch = models.SourcePatchRequest.model_construct(
                    configuration=configuration, name=name
                )
                self.sdk.sources.patch_source(
                    request=api.PatchSourceRequest(
                        source_id=existing[name], source_patch_request=patch
                    )
                )
                return existing[name], False
            create = models.SourceCreateRequest.model_construct(
                configuration=configuration,
                name=name,
                workspace_id=self.server.workspace_id,
                definition_id=definition_id,
            )
            response = self.sdk.sources.create_source(request=create)
        return required(response.source_response, "source").source_id, True

    def destination(self, warehouse: Warehouse) -> tuple[str, bool]:
        existing = self._named(
            self.sdk.destinations.list_destinations,
            api.ListDestinationsRequest,
            "destinations_response",
            "destination_id",
        )
        configuration = warehouse.destination()
        if DESTINATION_NAME in existing:
            self.sdk.destinations.patch_destination(
                request=api.PatchDestinationRequest(
                    destination_id=existing[DESTINATION_NAME],
                    destination_patch_request=models.DestinationPatchRequest(
                        configuration=configuration, name=DESTINATION_NAME
                    ),
                )
            )
            return existing[DESTINATION_NAME], False
        response = self.sdk.destinations.create_destination(
            request=models.DestinationCreateRequest(
                configuration=configuration,
                name=DESTINATION_NAME,
                workspace_id=self.server.workspace_id,
            )
        )
        return required(response.destination_response, "destination").destination_id, True

    def _connections(self) -> dict[str, str]:
        return self._named(
            self.sdk.connections.list_connections,
            api.ListConnectionsRequest,
            "connections_response",
            "connection_id",
        )

    def connection(
        self, system: str, source_id: str, destination_id: str, existing: Mapping[str, str]
    ) -> tuple[str, bool]:
        name = resource_name(system)
        streams = models.StreamConfigurations(
            streams=[
                models.StreamConfiguration(
                    name=stream.name,
                    # raw tables only: every record version is appended (nothing to dedupe)
                    sync_mode=models.ConnectionSyncModeEnum.INCREMENTAL_APPEND,
                    cursor_field=[stream.cursor_field],
                    primary_key=[[stream.primary_key]],
                )
                for stream in get_connector(system).streams
            ]
        )
        manual = models.AirbyteAPIConnectionSchedule(schedule_type=models.ScheduleTypeEnum.MANUAL)
        settings: dict[str, Any] = {
            "configurations": streams,
            "name": name,
            "namespace_definition": models.NamespaceDefinitionEnum.CUSTOM_FORMAT,
            "namespace_format": destination_namespace(system),
            "schedule": manual,
        }
        if name in existing:
            self.sdk.connections.patch_connection(
                request=api.PatchConnectionRequest(
                    connection_id=existing[name],
                    connection_patch_request=models.ConnectionPatchRequest(**settings),
                )
            )
            return existing[name], False
        response = self.sdk.connections.create_connection(
            request=models.ConnectionCreateRequest(
                source_id=source_id,
                destination_id=destination_id,
                status=models.ConnectionStatusEnum.ACTIVE,
                **settings,
            )
        )
        return required(response.connection_response, "connection").connection_id, True


def deploy(
    server: AirbyteServer,
    configs: Mapping[str, Mapping[str, Any]],
    warehouse: Warehouse,
    *,
    progress: Progress | None = None,
) -> list[Deployed]:
    """Publish each system of ``configs`` and connect it to ``warehouse`` (see the module).

    ``configs`` maps a system to its connector config (without the manifest). Returns what
    exists on the server afterwards, one :class:`Deployed` per system.
    """
    unknown = sorted(set(configs) - set(SYSTEMS))
    if unknown:
        raise KeyError(f"unknown source systems {unknown}; known: {', '.join(SYSTEMS)}")
    deployer = _Deployer(server, progress)
    say = deployer.say
    say(f"airbyte: workspace {server.workspace_id} on {server.public_api}")
    destination_id, new_destination = deployer.destination(warehouse)
    say(
        f"airbyte: destination {DESTINATION_NAME} ({warehouse.host}:{warehouse.port}/"
        f"{warehouse.database}) {'created' if new_destination else 'updated'}: {destination_id}"
    )
    definitions, sources, connections = (
        deployer._definitions(),
        deployer._sources(),
        deployer._connections(),
    )
    deployed = []
    for system in SYSTEMS:
        if system not in configs:
            continue
        created = ["destination"] if new_destination else []
        definition_id, new = deployer.definition(system, definitions)
        created += ["definition"] if new else []
        source_id, new = deployer.source(system, definition_id, configs[system], sources)
        created += ["source"] if new else []
        connection_id, new = deployer.connection(system, source_id, destination_id, connections)
        created += ["connection"] if new else []
        say(
            f"airbyte: {system}: definition {definition_id}, source {source_id}, "
            f"connection {connection_id} ({', '.join(created) or 'nothing'} new)"
        )
        deployed.append(
            Deployed(
                system, definition_id, source_id, destination_id, connection_id, tuple(created)
            )
        )
    return deployed
