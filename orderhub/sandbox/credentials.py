"""The credentials the sandbox systems accept, one per system.

They come from the home folder's secrets (``sandbox-<system>-<kind>``, see
:mod:`orderhub.secrets`), so the sandbox and the connector configs share them and
nothing is hard-coded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from orderhub.secrets import get_secret
from orderhub.settings import Settings

#: Secret name of each credential (docs/sources.md: ``sandbox-<system>-<kind>``).
SECRET_NAMES: dict[str, str] = {
    "erp_api_key": "sandbox-erp-api-key",
    "crm_token": "sandbox-crm-token",
    "wms_token": "sandbox-wms-token",
    "tms_api_key": "sandbox-tms-api-key",
}


@dataclass(frozen=True)
class SandboxCredentials:
    """ERP API key (``APIKey`` header), CRM and WMS bearer tokens, TMS API key (Basic user)."""

    erp_api_key: str = field(repr=False)
    crm_token: str = field(repr=False)
    wms_token: str = field(repr=False)
    tms_api_key: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in SECRET_NAMES:
            if not getattr(self, name):
                raise ValueError(f"sandbox credential {name} is empty")

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxCredentials:
        """The home's sandbox credentials (environment, then files, else generated)."""
        return cls(**{name: get_secret(settings, secret) for name, secret in SECRET_NAMES.items()})

    @classmethod
    def generate(cls) -> SandboxCredentials:
        """Fresh random credentials, kept nowhere (for tests and throwaway sandboxes)."""
        return cls(**{name: secrets.token_urlsafe(32) for name in SECRET_NAMES})

    def for_system(self, system: str) -> str:
        """The credential ``system`` (``erp``, ``crm``, ``wms``, ``tms``) accepts."""
        names = {"erp": "erp_api_key", "crm": "crm_token", "wms": "wms_token", "tms": "tms_api_key"}
        if system not in names:
            raise ValueError(f"unknown system {system!r}")
        return str(getattr(self, names[system]))
