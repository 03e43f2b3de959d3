"""orderhub settings: one object, read from ``ORDERHUB_*`` environment variables
(optionally a ``.env`` file), shared by every part of the flow.

Secrets never live here as literals: credentials, the API's JWT secret and the
ledger signing key come from the environment or from owner-only files under the
home folder (see :mod:`orderhub.secrets`).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orderhub.sources import (
    DEFAULT_SANDBOX_HOST,
    DEFAULT_SANDBOX_PORT,
    FileSourceSettings,
    SourceSettings,
    merge_sources,
)

#: Environment variables that switch off telemetry in dbt, Dagster, MLflow and GX.
TELEMETRY_OFF: dict[str, str] = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}


#: The file, under the secrets folder, holding the log's private signing key; its
#: verifier key is written beside it (:func:`ledger.keys.public_key_path`).
SIGNING_KEY_FILE = "ledger-signing-key.pem"

#: The anchors a checkpoint can be recorded with (ledger/anchors).
ANCHOR_KINDS = ("witness", "evm", "fabric")


def disable_telemetry() -> None:
    """Set the telemetry switches in this process (and so in its children)."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


class Settings(BaseSettings):
    """Everything orderhub can be told. Every field maps to ``ORDERHUB_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="ORDERHUB_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(
        default=Path(".orderhub"),
        description="Folder for the embedded warehouse, secrets, MLflow store and dbt target.",
    )
    database_url: str | None = Field(
        default=None,
        description="libpq URL of an existing PostgreSQL; unset starts an embedded server.",
    )
    sandbox_host: str = Field(
        default=DEFAULT_SANDBOX_HOST, description="Host `orderhub sandbox` binds to."
    )
    sandbox_port: int = Field(
        default=DEFAULT_SANDBOX_PORT,
        description="Port `orderhub sandbox` listens on (the default sources point there); "
        "0 picks a free one.",
    )
    scenario_seed: int = Field(default=7, description="Seed of the sandbox scenario.")
    scenario_orders: int = Field(default=400, description="Orders the sandbox scenario creates.")
    sources: dict[str, SourceSettings] = Field(
        default_factory=lambda: merge_sources({}),
        description="Per source system: base URL, secret names, page size (orderhub.sources).",
    )
    file_source: FileSourceSettings | None = Field(
        default=None,
        description="The file source of order lines (ORDERHUB_FILE_SOURCE__LOCATION, "
        "__MAPPING, __FORMAT); unset, no file is synced.",
    )
    sync_start_date: str = Field(
        default="2020-01-01T00:00:00Z", description="Cursor start of a connector's first sync."
    )
    airbyte_url: str | None = Field(
        default=None,
        description="Root URL of an Airbyte server (e.g. http://localhost:8000); set, the "
        "connector assets are its connections (dagster-airbyte) instead of the embedded runner.",
    )
    airbyte_workspace_id: str | None = Field(
        default=None, description="Airbyte workspace holding the orderhub connections."
    )
    airbyte_client_id: str | None = Field(
        default=None,
        description="OAuth client id for the Airbyte API (its secret: ORDERHUB_SECRET_"
        "AIRBYTE_CLIENT_SECRET or <home>/secrets/airbyte-client-secret).",
    )
    api_host: str = Field(default="127.0.0.1", description="Host PostgREST listens on.")
    api_port: int = Field(default=3000, description="Port PostgREST listens on.")
    api_public_url: str | None = Field(
        default=None,
        description="URL browsers and clients reach PostgREST at (the tracking page calls "
        "it); default http://<api_host>:<api_port>.",
    )
    api_db_pool: int = Field(default=10, description="PostgREST's database connections.")
    api_jwt_audience: str | None = Field(
        default=None,
        description="The aud a token must carry (PostgREST jwt-aud); the tokens orderhub "
        "mints carry it.",
    )
    api_jwks_url: str | None = Field(
        default=None,
        description="A company identity provider's JWKS URL (Keycloak, Auth0, Azure AD): its "
        "RS256/ES256 tokens are accepted beside the home's HS256 ones; fetched at start and "
        "every 10 minutes.",
    )
    api_jwks_file: Path | None = Field(
        default=None, description="The same as a local JWKS file (read at start)."
    )
    serve_host: str = Field(default="127.0.0.1", description="Host `orderhub serve` binds to.")
    serve_port: int = Field(
        default=3090, description="Port of the live service (`orderhub serve`: webhooks)."
    )
    sandbox_push: bool = Field(
        default=False,
        description="Whether the sandbox pushes each change to orderhub's receivers.",
    )
    sandbox_push_url: str | None = Field(
        default=None,
        description="Where the sandbox pushes (the live service's root URL); default "
        "http://<serve_host>:<serve_port>.",
    )
    site_host: str = Field(default="127.0.0.1", description="Host the tracking site binds to.")
    site_port: int = Field(
        default=3080, description="Port of the tracking site `orderhub api` serves (/track)."
    )
    site_public_url: str | None = Field(
        default=None,
        description="URL customers reach the tracking site at (the links `orderhub token "
        "tracking --link` prints); default http://<site_host>:<site_port>.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default is a local store under home."
    )
    ledger_origin: str = Field(
        default="orderhub.local/provenance", description="Origin line of signed checkpoints."
    )
    forecast_horizon_days: int = Field(default=14, description="Days ahead the forecast covers.")
    forecast_retrain_days: int = Field(
        default=7,
        description="Days of new data after which the forecast trains a challenger even "
        "without drift (drift or a missing champion trains at once).",
    )
    anchors: Annotated[list[str], NoDecode] = Field(
        default=["witness"],
        description="Where checkpoints are anchored after each publish: witness, evm, fabric "
        "(comma-separated or a JSON list; empty for none).",
    )
    witness_name: str = Field(
        default="orderhub.local/witness", description="Key name of the witness that cosigns."
    )
    evm_rpc_url: str | None = Field(default=None, description="JSON-RPC URL of the EVM node.")
    evm_contract_address: str | None = Field(
        default=None, description="Address of the deployed CheckpointAnchor contract."
    )
    fabric_gateway: str | None = Field(
        default=None, description="host:port of the Fabric Gateway peer."
    )
    fabric_channel: str = Field(default="orderhub", description="Fabric channel to anchor on.")
    fabric_chaincode: str = Field(
        default="checkpoint-anchor", description="Name of the anchor chaincode on the channel."
    )
    fabric_msp_id: str | None = Field(default=None, description="MSP id of the client identity.")
    fabric_cert_file: Path | None = Field(
        default=None, description="PEM certificate of the Fabric client identity."
    )
    fabric_key_file: Path | None = Field(
        default=None, description="PEM private key of the Fabric client identity."
    )
    fabric_tls_ca_file: Path | None = Field(
        default=None, description="PEM CA of the gateway's TLS certificate; unset: plaintext."
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _fill_sources(cls, value: object) -> object:
        return merge_sources(value)

    def source(self, system: str) -> SourceSettings:
        """The configuration of ``system`` (ValueError naming the known systems otherwise)."""
        if system not in self.sources:
            raise ValueError(f"unknown source system {system!r}; known: {', '.join(self.sources)}")
        return self.sources[system]

    @field_validator("anchors", mode="before")
    @classmethod
    def _split_anchors(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("anchors")
    @classmethod
    def _known_anchors(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ANCHOR_KINDS))
        if unknown:
            raise ValueError(
                f"unknown anchor {', '.join(unknown)}; known: {', '.join(ANCHOR_KINDS)}"
            )
        return list(dict.fromkeys(value))

    @property
    def home_dir(self) -> Path:
        """Absolute home folder, created on first use."""
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def secrets_dir(self) -> Path:
        """Owner-only folder holding generated secrets."""
        path = self.home_dir / "secrets"
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)
        return path

    @property
    def mlflow_uri(self) -> str:
        """Tracking URI for MLflow: the configured one or a SQLite store under home."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        folder = self.home_dir / "mlflow"
        folder.mkdir(exist_ok=True)
        return f"sqlite:///{folder / 'mlflow.db'}"

    @property
    def mlflow_artifact_dir(self) -> Path:
        """Where MLflow artifacts go for the local store."""
        folder = self.home_dir / "mlflow" / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
