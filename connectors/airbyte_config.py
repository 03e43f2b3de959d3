"""What orderhub publishes on an Airbyte server, as the server's own models.

The names: each system's definition, source and connection is ``orderhub-<system>``, the
destination ``orderhub-warehouse``; Airbyte writes a system's streams to the warehouse schema
``airbyte_<system>`` and keeps each stream's records whole in its raw table
``airbyte_internal.airbyte_<system>_raw__stream_<stream>``.

The source configurations: a plain dict handed to the ``airbyte-api`` SDK as a source
configuration is turned into some other connector's model (it becomes a PostHog config,
``sourceType`` and all), so each system has its own model here, checked field for field
against its manifest's spec by the tests. :func:`explicit_models` hides the warning the SDK
gives when it serializes one of them.

The destination: :class:`Warehouse` is the PostgreSQL warehouse as the server reaches it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from airbyte_api import models
from airbyte_api.types import BaseModel

from connectors.catalog import SYSTEMS, get_connector

DESTINATION_NAME = "orderhub-warehouse"
#: What the name of each system's definition, source and connection starts with.
RESOURCE_PREFIX = "orderhub-"


def resource_name(system: str) -> str:
    """The name of ``system``'s definition, source and connection on the server."""
    return f"{RESOURCE_PREFIX}{system}"


#: The schema the PostgreSQL destination keeps its raw tables in (``raw_data_schema``; with
#: ``disable_type_dedupe``, "raw tables only"): one table ``<namespace>_raw__stream_<stream>``
#: per stream, each record whole in ``_airbyte_data`` (destination-postgres 2.x and 3.x).
AIRBYTE_RAW_SCHEMA = "airbyte_internal"


def airbyte_raw_table(system: str, stream: str) -> tuple[str, str]:
    """(schema, table) of the destination's raw table for ``system``'s ``stream``."""
    return AIRBYTE_RAW_SCHEMA, f"{destination_namespace(system)}_raw__stream_{stream}"


def destination_namespace(system: str) -> str:
    """The warehouse schema Airbyte writes ``system``'s streams to."""
    return f"airbyte_{system}"


def system_of(name: str) -> str | None:
    """The source system a resource named by :func:`resource_name` belongs to."""
    system = name[len(RESOURCE_PREFIX) :] if name.startswith(RESOURCE_PREFIX) else None
    return system if system in SYSTEMS else None


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
    """Config of ``manifests/crm.yaml``: OAuth 2.0 client credentials (a connected app)."""

    client_id: str
    client_secret: str


class WmsSourceConfiguration(SourceConfiguration):
    """Config of ``manifests/wms.yaml``: Odoo's database, user id and that user's API key."""

    database: str
    uid: int
    api_key: str


class TmsSourceConfiguration(SourceConfiguration):
    """Config of ``manifests/tms.yaml``: API key as the HTTP Basic user; the trackers listed
    are those created within ``creation_window`` (ISO 8601 duration, default ``P7D``)."""

    api_key: str
    creation_window: str | None = None


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


@contextmanager
def explicit_models() -> Iterator[None]:
    """Serializing a union field that holds one of our models warns that it is none of the
    union's; that is the point (a model of our own, never another connector's), so the
    warning is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*PydanticSerializationUnexpectedValue")
        warnings.filterwarnings("ignore", message=r"(?s).*serialized value may not be as expected")
        yield


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
            # "Raw tables only": destination-postgres 3.x writes no raw table without it (Direct
            # Load: typed final tables only), 2.x writes raw tables and skips the final ones
            disable_type_dedupe=True,
        )
