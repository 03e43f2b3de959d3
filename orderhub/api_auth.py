"""Who the API lets in: its roles, the tokens orderhub mints and the keys PostgREST checks.

The roles are declared once, in the dbt project (``dbt_project/dbt_project.yml``, vars
``api_roles``, ``api_anon_role``, ``api_authenticator_role``, ``api_row_claims``), which
creates them and grants what each reads; :func:`api_vars` reads them from there, and
:func:`hidden_columns` what the api models' yml hides from a role.

Tokens are JWTs whose ``role`` claim names the role PostgREST switches to; a row-restricted
role carries the claim its rows are chosen by (``customer_id``, ``partner_id``). By default
PostgREST checks HS256 signatures with the home's secret ``api-jwt-secret``, which
:func:`mint_token` signs with (``orderhub token issue``). A company's identity provider
(Keycloak, Auth0, Azure AD) signs its own tokens (RS256, ES256): with
``ORDERHUB_API_JWKS_URL`` or ``ORDERHUB_API_JWKS_FILE`` PostgREST is given a JWKS holding
the provider's public keys and the home's key (as an ``oct`` key), so both are accepted.
``ORDERHUB_API_JWT_AUDIENCE`` makes PostgREST require that ``aud``; PostgREST refuses an
expired token (``exp``) with 401.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml

from orderhub.secrets import get_secret, write_private
from orderhub.settings import Settings

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
DBT_PROJECT_FILE = DBT_PROJECT / "dbt_project.yml"
API_MODELS_FILE = DBT_PROJECT / "models" / "api" / "_api__models.yml"
JWT_SECRET = "api-jwt-secret"
#: The key id of the home's HS256 key inside a JWKS.
LOCAL_KEY_ID = "orderhub-home"
_TTL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class TokenError(ValueError):
    """A token cannot be minted as asked."""


@cache
def api_vars() -> dict[str, Any]:
    """The API's roles and claims as the dbt project declares them."""
    declared = yaml.safe_load(DBT_PROJECT_FILE.read_text())["vars"]
    return {
        "roles": tuple(declared["api_roles"]),
        "anon": declared["api_anon_role"],
        "authenticator": declared["api_authenticator_role"],
        "row_claims": dict(declared["api_row_claims"]),
    }


@cache
def hidden_columns() -> dict[str, dict[str, frozenset[str]]]:
    """Per api view (its alias), per role, the columns the role may not select, as the api
    models' yml declares them (``meta.access.hidden``)."""
    declared = yaml.safe_load(API_MODELS_FILE.read_text())["models"]
    hidden: dict[str, dict[str, frozenset[str]]] = {}
    for model in declared:
        config = model.get("config", {})
        per_role = config.get("meta", {}).get("access", {}).get("hidden", {})
        if per_role:
            hidden[config["alias"]] = {role: frozenset(c) for role, c in per_role.items()}
    return hidden


def parse_ttl(text: str) -> timedelta:
    """``90``, ``90s``, ``30m``, ``1h`` or ``7d`` as a duration."""
    match = _TTL.match(text)
    if not match or int(match.group(1)) <= 0:
        raise TokenError(f"not a duration: {text!r} (e.g. 3600, 30m, 1h, 7d)")
    return timedelta(seconds=int(match.group(1)) * _TTL_UNITS[match.group(2)])


def mint_token(
    settings: Settings,
    role: str,
    *,
    claims: dict[str, str] | None = None,
    ttl: timedelta = timedelta(hours=1),
    now: float | None = None,
) -> str:
    """An HS256 token for ``role``, signed with the home's secret, valid for ``ttl``.

    A row-restricted role must be given its claim (``customer_id`` for ``customer``,
    ``partner_id`` for ``partner``); the token carries the configured audience, if any.
    """
    declared = api_vars()
    if role not in declared["roles"]:
        raise TokenError(f"unknown role {role!r}; roles: {', '.join(declared['roles'])}")
    payload: dict[str, Any] = {"role": role, **(claims or {})}
    needed = declared["row_claims"].get(role)
    if needed and not payload.get(needed):
        raise TokenError(f"a {role} token needs its {needed} claim")
    issued = int(time.time() if now is None else now)
    payload |= {"iat": issued, "exp": issued + int(ttl.total_seconds()), "iss": "orderhub"}
    payload["jti"] = uuid.uuid4().hex
    if settings.api_jwt_audience:
        payload["aud"] = settings.api_jwt_audience
    return jwt.encode(payload, get_secret(settings, JWT_SECRET), algorithm="HS256")


def local_jwk(settings: Settings) -> dict[str, str]:
    """The home's HS256 secret as a JWK (``oct``)."""
    key = base64.urlsafe_b64encode(get_secret(settings, JWT_SECRET).encode()).rstrip(b"=")
    return {"kty": "oct", "k": key.decode(), "alg": "HS256", "kid": LOCAL_KEY_ID}


def provider_jwks(settings: Settings) -> dict[str, Any] | None:
    """The identity provider's JWKS (from its URL or file), or None when none is set."""
    if settings.api_jwks_url:
        response = httpx.get(settings.api_jwks_url, timeout=15, follow_redirects=True)
        response.raise_for_status()
        document = response.json()
    elif settings.api_jwks_file:
        document = json.loads(Path(settings.api_jwks_file).expanduser().read_text())
    else:
        return None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise TokenError("the identity provider's JWKS has no keys")
    return {"keys": keys}


def jwt_secret_setting(settings: Settings, run_dir: Path) -> str:
    """PostgREST's ``jwt-secret``: the home's secret, or ``@<file>`` of a JWKS holding the
    identity provider's keys and the home's key (written owner-only under ``run_dir``)."""
    provider = provider_jwks(settings)
    if provider is None:
        return get_secret(settings, JWT_SECRET)
    path = run_dir / "jwks.json"
    write_jwks(path, {"keys": [*provider["keys"], local_jwk(settings)]})
    return f"@{path}"


def write_jwks(path: Path, document: dict[str, Any]) -> bool:
    """Write the JWKS ``document`` to ``path`` unless it holds it already; True if written."""
    text = json.dumps(document, sort_keys=True)
    if path.exists() and path.read_text() == text:
        return False
    write_private(path, text.encode())
    return True


def refresh_jwks(settings: Settings, run_dir: Path) -> bool:
    """Fetch the provider's JWKS again and rewrite the file PostgREST reads if its keys
    changed (a rotation); True when they did."""
    provider = provider_jwks(settings)
    if provider is None:
        return False
    return write_jwks(run_dir / "jwks.json", {"keys": [*provider["keys"], local_jwk(settings)]})
