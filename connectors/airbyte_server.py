"""Publish the declarative manifests to an Airbyte server, through its public API.

For each source system, :func:`deploy` makes sure the workspace holds, by name:

- a custom declarative source definition ``orderhub-<system>`` carrying the manifest
  (``POST``/``PUT /workspaces/{id}/definitions/declarative_sources``);
- a source ``orderhub-<system>`` of that definition with the system's config
  (``POST /sources`` or ``PATCH /sources/{id}``);
- one PostgreSQL destination ``orderhub-warehouse`` pointed at the warehouse
  (``POST /destinations`` or ``PATCH /destinations/{id}``);
- a manual connection ``orderhub-<system>`` from the source to the destination, reading each
  stream incrementally (append + dedup on its primary key, cursor as in the manifest) into the
  schema ``airbyte_<system>`` (``POST /connections`` or ``PATCH /connections/{id}``).

Re-running updates what exists instead of adding duplicates. Requests go through the
``airbyte-api`` SDK built from explicit models: a plain dict handed to the SDK as a source
configuration is turned into some other connector's model (it becomes a PostHog config,
``sourceType`` and all: docs/architecture.md, "Known traps in the stack"), so each system has
its own configuration model here, checked field for field against its manifest's spec by the
tests.

Airbyte's destination writes its own table layout (typed columns and ``_airbyte_*`` columns),
not orderhub's ``raw_<system>`` layout, so it lands in ``airbyte_<system>``, apart from the
embedded runner's tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import airbyte_api
from airbyte_api import api, models
from airbyte_api.types import BaseModel

from connectors.catalog import SYSTEMS, get_connector

PUBLIC_API = "/api/public/v1"
CONFIGURATION_API = "/api/v1"
DESTINATION_NAME = "orderhub-warehouse"
#: Items per list request (the public API's maximum); lists are read page by page.
LIST_PAGE = 100
Progress = Callable[[str], None]
_Model = TypeVar("_Model", bound=BaseModel)
_Item = TypeVar("_Item")


def _every_page(list_page: Callable[[int], Sequence[_Item]]) -> list[_Item]:
    """Every item of a paged list: ``list_page(offset)`` until a page comes back short."""
    found: list[_Item] = []
    while True:
        page = list_page(len(found))
        found.extend(page)
        if len(page) < LIST_PAGE:
            return found


def resource_name(system: str) -> str:
    """The name of ``system``'s definition, source and connection on the server."""
    return f"orderhub-{system}"


#: The schema the PostgreSQL destination keeps its raw tables in (Destinations V2): one table
#: ``<namespace>_raw__stream_<stream>`` per stream, each record whole in ``_airbyte_data``.
AIRBYTE_RAW_SCHEMA = "airbyte_internal"


def airbyte_raw_table(system: str, stream: str) -> tuple[str, str]:
    """(schema, table) of the destination's raw table for ``system``'s ``stream``."""
    return AIRBYTE_RAW_SCHEMA, f"{destination_namespace(system)}_raw__stream_{stream}"


def destination_namespace(system: str) -> str:
    """The warehouse schema Airbyte writes ``system``'s streams to."""
    return f"airbyte_{system}"


def system_of(name: str) -> str | None:
    """The source system a resource named by :func:`resource_name` belongs to."""
    prefix = "orderhub-"
    system = name[len(prefix) :] if name.startswith(prefix) else None
    return system if system in SYSTEMS else None


# ---------------------------------------------------------------- explicit configs


class SourceConfiguration(BaseModel):
    """The options every orderhub manifest's spec takes (see ``connectors.config``)."""

    base_url: str
    start_date: str
    page_size: int | None = None
    max_retries: int | None = None
    backoff_factor: float | None = None
    lookback_window: str | None = None


class ErpSourceConfiguration(SourceConfiguration):
    """Config of ``manifests/erp.yaml``: API key in the ``APIKey`` header."""

    api_key: str


class CrmSourceConfiguration(SourceConfiguration):
    """Config of ``manifests/crm.yaml``: OAuth 2.0 refresh-token flow."""

    client_id: str
    client_secret: str
    refresh_token: str


class WmsSourceConfiguration(SourceConfiguration):
    """Config of ``manifests/wms.yaml``: OAuth 2.0 client credentials."""

    client_id: str
    client_secret: str


class TmsSourceConfiguration(SourceConfiguration):
    """Config of ``manifests/tms.yaml``: API key as the HTTP Basic user."""

    api_key: str


SOURCE_CONFIGURATIONS: dict[str, type[SourceConfiguration]] = {
    "erp": ErpSourceConfiguration,
    "crm": CrmSourceConfiguration,
    "wms": WmsSourceConfiguration,
    "tms": TmsSourceConfiguration,
}


def source_configuration(system: str, config: Mapping[str, Any]) -> SourceConfiguration:
    """``config`` (from :func:`connectors.config.source_config`) as ``system``'s model.

    Keys the model does not know are an error, never dropped.
    """
    model = SOURCE_CONFIGURATIONS[get_connector(system).name]
    unknown = sorted(set(config) - set(model.model_fields))
    if unknown:
        raise ValueError(f"{system} config has fields the server config does not: {unknown}")
    return model(**config)


# ------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class AirbyteServer:
    """Where the Airbyte server is and how to authenticate (OAuth client credentials)."""

    url: str
    workspace_id: str
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def root(self) -> str:
        """The server's root URL (``http://host:8000``), whatever form ``url`` was given in."""
        root = self.url.rstrip("/")
        for suffix in (PUBLIC_API, CONFIGURATION_API, "/api/public", "/api"):
            if root.endswith(suffix):
                return root[: -len(suffix)]
        return root

    @property
    def public_api(self) -> str:
        return self.root + PUBLIC_API

    @property
    def configuration_api(self) -> str:
        return self.root + CONFIGURATION_API

    def client(self) -> airbyte_api.AirbyteAPI:
        """An SDK client for the public API."""
        security = None
        if self.client_id and self.client_secret:
            security = models.Security(
                client_credentials=models.SchemeClientCredentials(
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                    token_url=self.public_api + "/applications/token",
                )
            )
        return airbyte_api.AirbyteAPI(server_url=self.public_api, security=security)


@dataclass(frozen=True)
class Warehouse:
    """The PostgreSQL warehouse as the Airbyte server reaches it."""

    host: str
    port: int
    database: str
    username: str
    password: str | None = None

    @classmethod
    def from_url(cls, url: str, host: str | None = None, port: int | None = None) -> Warehouse:
        """From a libpq URL; ``host``/``port`` override what the URL says (the server may see
        the warehouse under another name than orderhub does)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError("the warehouse URL must look like postgresql://user@host:port/db")
        return cls(
            host=host or parts.hostname or "localhost",
            port=port or parts.port or 5432,
            database=unquote(parts.path.strip("/")),
            username=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
        )

    def destination(self) -> models.DestinationPostgres:
        return models.DestinationPostgres(
            host=self.host,
            port=self.port,
            database=self.database,
            username=self.username,
            password=self.password,
            schema_="public",
            raw_data_schema=AIRBYTE_RAW_SCHEMA,
        )


@dataclass(frozen=True)
class Deployed:
    """What :func:`deploy` left on the server for one system (``created``: new, not updated)."""

    system: str
    definition_id: str
    source_id: str
    destination_id: str
    connection_id: str
    created: tuple[str, ...]


# ------------------------------------------------------------------------ deploying


@contextmanager
def _explicit_models() -> Iterator[None]:
    """Serializing a union field that holds one of our models warns that it is none of the
    union's; that is the point (docs/architecture.md, "Known traps in the stack"), so the
    warning is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*PydanticSerializationUnexpectedValue")
        warnings.filterwarnings("ignore", message=r"(?s).*serialized value may not be as expected")
        yield


def _required(value: _Model | None, what: str) -> _Model:
    if value is None:
        raise RuntimeError(f"the Airbyte server answered no {what}")
    return value


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
        found = _required(response.declarative_source_definitions_response, "definitions")
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
        return _required(response.declarative_source_definition_response, "definition").id, True

    def _listed(
        self, list_: Callable[..., Any], request: Callable[..., Any], answer: str
    ) -> list[Any]:
        """Every item of this workspace's list ``list_`` (e.g. ``sdk.sources.list_sources``),
        page by page; ``answer`` names the response's field that holds the page."""

        def page(offset: int) -> list[Any]:
            response = list_(
                request=request(
                    workspace_ids=[self.server.workspace_id], limit=LIST_PAGE, offset=offset
                )
            )
            return list(_required(getattr(response, answer), answer).data)

        return _every_page(page)

    def _sources(self) -> dict[str, str]:
        found = self._listed(
            self.sdk.sources.list_sources, api.ListSourcesRequest, "sources_response"
        )
        return {s.name: s.source_id for s in found}

    def source(
        self,
        system: str,
        definition_id: str,
        config: Mapping[str, Any],
        existing: Mapping[str, str],
    ) -> tuple[str, bool]:
        name = resource_name(system)
        configuration = source_configuration(system, config)
        with _explicit_models():
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
        return _required(response.source_response, "source").source_id, True

    def destination(self, warehouse: Warehouse) -> tuple[str, bool]:
        found = self._listed(
            self.sdk.destinations.list_destinations,
            api.ListDestinationsRequest,
            "destinations_response",
        )
        existing = {d.name: d.destination_id for d in found}
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
        return _required(response.destination_response, "destination").destination_id, True

    def _connections(self) -> dict[str, str]:
        found = self._listed(
            self.sdk.connections.list_connections,
            api.ListConnectionsRequest,
            "connections_response",
        )
        return {c.name: c.connection_id for c in found}

    def connection(
        self, system: str, source_id: str, destination_id: str, existing: Mapping[str, str]
    ) -> tuple[str, bool]:
        name = resource_name(system)
        streams = models.StreamConfigurations(
            streams=[
                models.StreamConfiguration(
                    name=stream.name,
                    sync_mode=models.ConnectionSyncModeEnum.INCREMENTAL_DEDUPED_HISTORY,
                    cursor_field=[stream.cursor_field],
                    primary_key=[[stream.primary_key]],
                )
                for stream in get_connector(system).streams
            ]
        )
        manual = models.AirbyteAPIConnectionSchedule(schedule_type=models.ScheduleTypeEnum.MANUAL)
        if name in existing:
            self.sdk.connections.patch_connection(
                request=api.PatchConnectionRequest(
                    connection_id=existing[name],
                    connection_patch_request=models.ConnectionPatchRequest(
                        configurations=streams,
                        name=name,
                        namespace_definition=models.NamespaceDefinitionEnum.CUSTOM_FORMAT,
                        namespace_format=destination_namespace(system),
                        schedule=manual,
                    ),
                )
            )
            return existing[name], False
        response = self.sdk.connections.create_connection(
            request=models.ConnectionCreateRequest(
                source_id=source_id,
                destination_id=destination_id,
                configurations=streams,
                name=name,
                namespace_definition=models.NamespaceDefinitionEnum.CUSTOM_FORMAT,
                namespace_format=destination_namespace(system),
                schedule=manual,
                status=models.ConnectionStatusEnum.ACTIVE,
            )
        )
        return _required(response.connection_response, "connection").connection_id, True


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
