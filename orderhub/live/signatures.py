"""How each source system signs what it pushes, and checking it.

Each system has a webhook secret of its own in the home's secrets
(:data:`orderhub.sources.WEBHOOK_SECRETS`, :func:`webhook_secret`), given to the sender:

- ``tms`` (EasyPost): ``X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the body>``,
  as EasyPost signs its webhook Events (docs.easypost.com, "Webhooks Guide", HMAC validation);
- ``wms`` (Odoo automation rule "Send Webhook Notification"): Odoo signs nothing itself, so
  the rule sends ``X-Odoo-Signature: sha256=<hex HMAC-SHA256 of the body>`` (a custom header
  the rule's server action adds);
- ``crm`` (Salesforce change events relayed as CloudEvents) and ``erp`` (SAP Event Mesh
  business events, CloudEvents): the HTTP binding leaves authentication to the transport;
  Event Mesh webhook subscriptions authenticate with HTTP Basic, so both send
  ``Authorization: Basic base64(<system>-webhook:<secret>)``.

A wrong or missing signature is rejected before anything is read or stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from orderhub.secrets import get_secret
from orderhub.settings import Settings
from orderhub.sources import WEBHOOK_SECRETS


@dataclass(frozen=True)
class Scheme:
    """One system's scheme: an HMAC of the body in ``header`` after ``prefix``, or Basic."""

    kind: str  # "hmac" or "basic"
    header: str
    prefix: str = ""


SCHEMES: dict[str, Scheme] = {
    "tms": Scheme("hmac", "x-hmac-signature", "hmac-sha256-hex="),
    "wms": Scheme("hmac", "x-odoo-signature", "sha256="),
    "crm": Scheme("basic", "authorization", "Basic "),
    "erp": Scheme("basic", "authorization", "Basic "),
}


def webhook_secret(settings: Settings, system: str) -> str:
    """``system``'s webhook secret (generated owner-only in the home on first use)."""
    return get_secret(settings, WEBHOOK_SECRETS[system])


def expected(system: str, secret: str, body: bytes) -> str:
    """The header value a correctly signed push of ``body`` carries."""
    scheme = SCHEMES[system]
    if scheme.kind == "hmac":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return f"{scheme.prefix}{digest}"
    token = base64.b64encode(f"{system}-webhook:{secret}".encode()).decode()
    return f"{scheme.prefix}{token}"


def verify(system: str, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether ``headers`` carry ``system``'s signature of ``body`` (constant-time)."""
    given = headers.get(SCHEMES[system].header)
    if not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected(system, secret, body).encode())
