"""The credentials the sandbox systems accept.

They come from the home folder's source secrets (:data:`orderhub.sources.SOURCE_SECRETS`),
so the sandbox and the connector configs share them and nothing is hard-coded: an API key
for the ERP (``APIKey`` header) and the TMS (HTTP Basic user), OAuth 2.0 client credentials
for the CRM (Salesforce) and the WMS (the client-credentials flow both), whose
token endpoints issue the short-lived bearer tokens the record endpoints accept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields

from orderhub.secrets import get_secret
from orderhub.settings import Settings
from orderhub.sources import SOURCE_SECRETS

#: Attribute of :class:`SandboxCredentials` -> (system, connector config field).
ATTRIBUTES: dict[str, tuple[str, str]] = {
    f"{system}_{config_field}": (system, config_field)
    for system, credentials in SOURCE_SECRETS.items()
    for config_field in credentials
}
#: Attribute of :class:`SandboxCredentials` -> secret name (the one the connector presents).
SECRET_NAMES: dict[str, str] = {
    attribute: SOURCE_SECRETS[system][config_field]
    for attribute, (system, config_field) in ATTRIBUTES.items()
}


@dataclass(frozen=True)
class SandboxCredentials:
    """Every credential the four sandbox systems accept (never shown in ``repr``)."""

    erp_api_key: str = field(repr=False)
    crm_client_id: str = field(repr=False)
    crm_client_secret: str = field(repr=False)
    wms_api_key: str = field(repr=False)
    tms_api_key: str = field(repr=False)

    def __post_init__(self) -> None:
        names = {f.name for f in fields(self)}
        if names != set(ATTRIBUTES):  # pragma: no cover - guards SOURCE_SECRETS edits
            raise TypeError(f"SandboxCredentials fields {sorted(names)} != {sorted(ATTRIBUTES)}")
        for name in ATTRIBUTES:
            if not getattr(self, name):
                raise ValueError(f"sandbox credential {name} is empty")

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxCredentials:
        """The home's sandbox credentials (environment, then files, else generated)."""
        return cls(**{name: get_secret(settings, secret) for name, secret in SECRET_NAMES.items()})

    @classmethod
    def generate(cls) -> SandboxCredentials:
        """Fresh random credentials, kept nowhere (for tests and throwaway sandboxes)."""
        return cls(**{name: secrets.token_urlsafe(32) for name in ATTRIBUTES})

    def for_system(self, system: str) -> dict[str, str]:
        """The credentials ``system``'s connector presents, keyed by its config field names."""
        if system not in SOURCE_SECRETS:
            raise ValueError(f"unknown system {system!r}")
        return {
            config_field: str(getattr(self, f"{system}_{config_field}"))
            for config_field in SOURCE_SECRETS[system]
        }
