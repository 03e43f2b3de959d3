"""OAuth 2.0 token endpoints of the CRM and the WMS, and the bearer tokens they issue.

The CRM follows Salesforce's OAuth 2.0 client-credentials flow (``POST
/services/oauth2/token`` with ``grant_type=client_credentials``, ``client_id``,
``client_secret`` of a connected app; the answer carries ``access_token``, ``instance_url``,
``token_type``, ``issued_at``, ``signature`` and no ``expires_in``, as Salesforce does). The
WMS token endpoint follows the same flow (the answer carries ``expires_in``). An issuer given
a ``refresh_token`` takes Salesforce's refresh-token flow instead. Parameters come as a form
body (RFC 6749 §4.4.2, §6), or, for the client, as HTTP Basic.

A :class:`TokenIssuer` remembers the tokens it issued and when each expires. The fault layer
(:mod:`sandbox.faults`) can expire all of them at once, the way a password change
or a session timeout does: the next request is 401 and a connector must fetch a new token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.apis.common import basic_credentials, reply, same_secret

#: Default lifetime of an access token (Salesforce's default session timeout is 2 hours).
DEFAULT_TTL = 7200.0


@dataclass
class TokenIssuer:
    """Issues and checks the bearer tokens of one system."""

    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    #: The refresh token the client must present (``None``: client-credentials flow).
    refresh_token: str | None = field(default=None, repr=False)
    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self.issued = 0

    @property
    def grant_type(self) -> str:
        return "client_credentials" if self.refresh_token is None else "refresh_token"

    def issue(self) -> str:
        """A new access token, valid for ``ttl`` seconds."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()
            self._tokens = {t: end for t, end in self._tokens.items() if end > now}
            self._tokens[token] = now + self.ttl
            self.issued += 1
        return token

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` was issued here and has not expired."""
        if not token:
            return False
        with self._lock:
            end = self._tokens.get(token)
            return end is not None and end > self.clock()

    def expire_all(self) -> int:
        """Expire every token issued so far (how many were live)."""
        with self._lock:
            now = self.clock()
            live = sum(1 for end in self._tokens.values() if end > now)
            self._tokens.clear()
        return live

    def check_grant(self, params: dict[str, str]) -> str | None:
        """None when the grant is acceptable, else the OAuth error code (RFC 6749 §5.2)."""
        if params.get("grant_type") != self.grant_type:
            return "unsupported_grant_type"
        if not (
            same_secret(params.get("client_id"), self.client_id)
            and same_secret(params.get("client_secret"), self.client_secret)
        ):
            return "invalid_client"
        if self.refresh_token is not None and not same_secret(
            params.get("refresh_token"), self.refresh_token
        ):
            return "invalid_grant"
        return None


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def grant_parameters(request: Request) -> dict[str, str]:
    """The token request's parameters: form body, query string, and HTTP Basic client."""
    params = dict(request.query_params)
    body = (await request.body()).decode(errors="replace")
    params.update(parse_qsl(body, keep_blank_values=True))
    credentials = basic_credentials(request)
    if credentials is not None:
        params.setdefault("client_id", credentials[0])
        params.setdefault("client_secret", credentials[1])
    return params


_DESCRIPTIONS = {
    "unsupported_grant_type": "grant type not supported",
    "invalid_client": "invalid client credentials",
    "invalid_grant": "expired access/refresh token",
}


def token_endpoint(issuer: TokenIssuer, *, salesforce: bool) -> Callable[..., object]:
    """The ``POST`` handler that issues tokens (Salesforce's answer shape when ``salesforce``)."""

    async def token(request: Request) -> JSONResponse:
        params = await grant_parameters(request)
        problem = issuer.check_grant(params)
        if problem is not None:
            status = 401 if problem == "invalid_client" and not salesforce else 400
            return reply({"error": problem, "error_description": _DESCRIPTIONS[problem]}, status)
        access = issuer.issue()
        if salesforce:
            mount = request.scope.get("root_path", "")
            root = f"{request.url.scheme}://{request.url.netloc}{mount}"
            return reply(
                {
                    "access_token": access,
                    "instance_url": root,
                    "id": f"{root}/id/00D000000000001EAA/005000000000001AAA",
                    "token_type": "Bearer",
                    "issued_at": str(int(time.time() * 1000)),
                    "signature": secrets.token_urlsafe(32),
                }
            )
        expires = int(issuer.ttl)
        return reply({"access_token": access, "token_type": "Bearer", "expires_in": expires})

    return token
