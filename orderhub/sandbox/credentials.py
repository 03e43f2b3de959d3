"""The credentials the sandbox systems accept, one per system.

They come from the home folder's source secrets (:data:`orderhub.secrets.SOURCE_SECRETS`),
so the sandbox and the connector configs share them and nothing is hard-coded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from orderhub.secrets import SOURCE_SECRETS, get_secret
from orderhub.settings import Settings

#: Secret name of each credential: the one the system's connector presents.
SECRET_NAMES: dict[str, str] = {
    "erp_api_key": SOURCE_SECRETS["erp"][1],
    "crm_token": SOURCE_SECRETS["crm"][1],
    "wms_token": SOURCE_SECRETS["wms"][1],
    "tms_api_key": SOURCE_SECRETS["tms"][1],
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
