"""The source systems orderhub integrates, and where it finds each one.

:data:`SOURCE_SYSTEMS` is the one list of systems: every other list (the connector catalog,
the quality suites, the demo summary, the sandbox) is keyed by it. Most are reached over an
HTTP API (:data:`API_SYSTEMS`); ``file`` (:data:`FILE_SYSTEMS`) reads the order history a
company brings as a CSV, JSON Lines or Parquet file.

Each API system has one :class:`SourceSettings` in :attr:`orderhub.settings.Settings.sources`:
its base URL, the names of the secrets its connector presents, and an optional page size. A
real SAP, Salesforce, Odoo or EasyPost tenant and the sandbox are configured the same way; by
default every source points at the sandbox's default address
(``http://127.0.0.1:3100/<system>``, where ``orderhub sandbox`` serves). The file source has
a :class:`FileSourceSettings` in :attr:`orderhub.settings.Settings.file_source`: where the
file is and which column holds what; unset, it is not synced.

From the environment, one value at a time (``ORDERHUB_SOURCES__ERP__BASE_URL=https://...``,
``ORDERHUB_SOURCES__CRM__PAGE_SIZE=500``) or as JSON (``ORDERHUB_SOURCES='{"erp":
{"base_url": "https://..."}}'``); a system left out keeps its defaults.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

#: The source systems orderhub integrates, in the order the flow lists them.
SOURCE_SYSTEMS: tuple[str, ...] = ("erp", "crm", "wms", "tms", "file")
#: The systems read from a file of order lines (path or URL) rather than an API.
FILE_SYSTEMS: tuple[str, ...] = ("file",)
#: The systems behind an HTTP API (each has a declarative manifest; the sandbox simulates them).
API_SYSTEMS: tuple[str, ...] = tuple(s for s in SOURCE_SYSTEMS if s not in FILE_SYSTEMS)

#: Where ``orderhub sandbox`` listens unless told otherwise; the default sources point here.
DEFAULT_SANDBOX_HOST = "127.0.0.1"
DEFAULT_SANDBOX_PORT = 3100

#: The credentials each source system's connector presents: config field -> secret name.
#: ERP, TMS and WMS (an Odoo user's API key) take an API key; CRM (Salesforce) takes OAuth 2.0
#: client credentials and fetches short-lived access tokens itself.
SOURCE_SECRETS: dict[str, dict[str, str]] = {
    "erp": {"api_key": "erp-api-key"},
    "crm": {"client_id": "crm-client-id", "client_secret": "crm-client-secret"},
    "wms": {"api_key": "wms-api-key"},
    "tms": {"api_key": "tms-api-key"},
}


#: Connector options that are no secret, per system: Odoo's external API names the database
#: and the user id in every call (the sandbox's Odoo is database ``orderhub``, user 2).
SOURCE_OPTIONS: dict[str, dict[str, Any]] = {"wms": {"database": "orderhub", "uid": 2}}

#: The secret each system signs its webhook pushes with (the live receivers verify it).
WEBHOOK_SECRETS: dict[str, str] = {system: f"{system}-webhook-secret" for system in SOURCE_SECRETS}


def sandbox_base_url(system: str, host: str = DEFAULT_SANDBOX_HOST, port: int = 0) -> str:
    """The base URL of ``system`` on a sandbox at ``host:port`` (default port when 0)."""
    return f"http://{host}:{port or DEFAULT_SANDBOX_PORT}/{system}"


class SourceSettings(BaseModel):
    """One source system: where it is, which secrets its connector presents, page size."""

    base_url: str = Field(description="Root of the system's API, e.g. https://erp.example.com.")
    secrets: dict[str, str] = Field(
        description="Connector config field -> secret name (ORDERHUB_SECRET_<NAME> or "
        "<home>/secrets/<name>)."
    )
    page_size: int | None = Field(default=None, description="Records per page; unset: default.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Further connector config fields that are no secret (the WMS: Odoo's "
        'database name and user id, {"database": "prod", "uid": 7}).',
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("page_size")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError(f"page_size must be positive, got {value}")
        return value


class FileSourceSettings(BaseModel):
    """The file source: a file of order lines and the mapping of its columns."""

    location: str = Field(
        description="Local path or http(s) URL of a CSV, JSON Lines or Parquet file of order lines."
    )
    mapping: str | None = Field(
        default=None,
        description="Path of the YAML or JSON column mapping (connectors/file_source); unset: "
        "the file's columns carry the canonical names.",
    )
    format: str | None = Field(
        default=None, description="csv, jsonl or parquet; unset: from the file's extension."
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in ("csv", "jsonl", "parquet"):
            raise ValueError(f"format must be csv, jsonl or parquet, got {value!r}")
        return value


def default_source(system: str) -> dict[str, Any]:
    """The default configuration of ``system``: the sandbox at its default address."""
    return {
        "base_url": sandbox_base_url(system),
        "secrets": dict(SOURCE_SECRETS[system]),
        "options": dict(SOURCE_OPTIONS.get(system, {})),
    }


def merge_sources(given: object) -> dict[str, Any]:
    """``given`` (a partial mapping per API system) over every API system's defaults.

    An unknown system is an error naming the known ones; a known one keeps each default
    it does not override. The file source is configured apart (``file_source``).
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ValueError(f"sources must be a mapping of system to settings, not {given!r}")
    unknown = sorted(set(given) - set(API_SYSTEMS))
    if unknown:
        hint = (
            "; the file source is ORDERHUB_FILE_SOURCE" if set(unknown) & set(FILE_SYSTEMS) else ""
        )
        raise ValueError(
            f"unknown source system {', '.join(unknown)}; known: {', '.join(API_SYSTEMS)}{hint}"
        )
    merged: dict[str, Any] = {}
    for system in API_SYSTEMS:
        value = given.get(system) or {}
        if isinstance(value, SourceSettings):
            value = value.model_dump()
        merged[system] = {**default_source(system), **{k: v for k, v in value.items() if v}}
    return merged
