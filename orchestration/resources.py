"""Dagster resources: the warehouse, the source systems and the provenance log.

Each resource is a thin, typed view of :class:`orderhub.settings.Settings`, so a
run in the UI, a schedule and the demo all read the same configuration.
"""

from typing import Any

from dagster import ConfigurableResource

from connectors.config import configured_source
from ledger.keys import Signer, load_or_create_signer
from ledger.log import ProvenanceLog
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.settings import SIGNING_KEY_FILE, get_settings
from orderhub.warehouse import warehouse_url


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL warehouse: the configured URL, or the embedded server."""

    database_url: str | None = None

    def url(self) -> str:
        from orchestration.bootstrap import prepare_warehouse

        settings = get_settings()
        url = self.database_url or warehouse_url(settings)
        prepare_warehouse(settings, url)
        return url


class SourcesResource(ConfigurableResource):
    """Where each source system is and how to authenticate to it."""

    page_size: int | None = None
    #: Upper bound on one connector run; a hung source fails the run instead of blocking it.
    timeout_seconds: float = 1800.0

    def config(self, system: str) -> dict[str, Any]:
        """``system``'s connector config from its source configuration (``ORDERHUB_SOURCES``)."""
        return configured_source(get_settings(), system, page_size=self.page_size)


class LedgerResource(ConfigurableResource):
    """The provenance log (accepting orderhub's event kinds) and the key that signs its
    checkpoints."""

    def signer(self) -> Signer:
        settings = get_settings()
        return load_or_create_signer(
            settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin
        )

    def log(self, database_url: str) -> ProvenanceLog:
        return ProvenanceLog(
            database_url, get_settings().ledger_origin, self.signer(), kinds=PROVENANCE_KINDS
        )
