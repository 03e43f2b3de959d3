"""orderhub settings: one object, read from ``ORDERHUB_*`` environment variables
(optionally a ``.env`` file), shared by every part of the flow.

Secrets never live here as literals: credentials, the API's JWT secret and the
ledger signing key come from the environment or from owner-only files under the
home folder (see :mod:`orderhub.secrets`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Environment variables that switch off telemetry in the stack (DESIGN.md §7).
TELEMETRY_OFF: dict[str, str] = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}


def disable_telemetry() -> None:
    """Set the telemetry switches in this process (and so in its children)."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


class Settings(BaseSettings):
    """Everything orderhub can be told. Every field maps to ``ORDERHUB_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="ORDERHUB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        default=Path(".orderhub"),
        description="Folder for the embedded warehouse, secrets, MLflow store and dbt target.",
    )
    database_url: str | None = Field(
        default=None,
        description="libpq URL of an existing PostgreSQL; unset starts an embedded server.",
    )
    sandbox_host: str = Field(default="127.0.0.1", description="Host the sandbox binds to.")
    sandbox_port: int = Field(default=0, description="Sandbox port; 0 picks a free one.")
    scenario_seed: int = Field(default=7, description="Seed of the sandbox scenario.")
    scenario_orders: int = Field(default=400, description="Orders the sandbox scenario creates.")
    erp_url: str | None = Field(default=None, description="Base URL of the ERP (SAP OData).")
    crm_url: str | None = Field(default=None, description="Base URL of the CRM (Salesforce).")
    wms_url: str | None = Field(default=None, description="Base URL of the WMS.")
    tms_url: str | None = Field(default=None, description="Base URL of the TMS (EasyPost).")
    sync_start_date: str = Field(
        default="2020-01-01T00:00:00Z", description="Cursor start of a connector's first sync."
    )
    api_host: str = Field(default="127.0.0.1", description="Host PostgREST listens on.")
    api_port: int = Field(default=3000, description="Port PostgREST listens on.")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default is a local store under home."
    )
    ledger_origin: str = Field(
        default="orderhub.local/provenance", description="Origin line of signed checkpoints."
    )
    forecast_horizon_days: int = Field(default=14, description="Days ahead the forecast covers.")

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
