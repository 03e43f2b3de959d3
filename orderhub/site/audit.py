"""The site's audit routes: an order's audit bundle for whoever holds its tracking token, and
the keys a browser checks it with.

- ``GET /audit/{order_id}?token=...``: the order's audit bundle (format
  ``orderhub-audit-bundle/v2``, docs/audit-bundle.md), traced from the warehouse at the
  latest signed checkpoint (:func:`orderhub.audit.trace_order`, read-only). The token is
  the order's tracking token (:mod:`orderhub.tracking`, derived by the warehouse), compared
  in constant time; a wrong token and an unknown order get the same 404, so nothing can be
  listed or guessed. An order the log cannot prove yet gets a 404 naming why.
- ``GET /.well-known/orderhub/log-key`` and ``/.well-known/orderhub/witness-key``: the
  C2SP verifier keys of the log and of the witness (the home's ``*.pem.pub`` files), read
  at each request so a rotated key is served at once; 404 when the home has none.

:meth:`AuditSource.page_config` is what the tracking page learns from ``/config.json``:
where the bundle and the keys are, so its ``proof`` section offers the "Verify" button
(``static/track-proof.js``). A site without an :class:`AuditSource` serves none of this and
the section stays hidden.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ledger.keys import public_key_path
from orchestration.anchoring import WITNESS_KEY_FILE
from orderhub import tracking
from orderhub.audit import AuditError, trace_order
from orderhub.settings import SIGNING_KEY_FILE, Settings

#: Where the bundle of an order is (``{order}``: the order id, URL-encoded).
BUNDLE_PATH = "/audit/{order}"
LOG_KEY_PATH = "/.well-known/orderhub/log-key"
WITNESS_KEY_PATH = "/.well-known/orderhub/witness-key"
#: The one answer to a wrong token or an unknown order.
NOT_FOUND = {"error": "no order with this number and tracking token"}


@dataclass(frozen=True)
class AuditSource:
    """The warehouse the bundles are traced from and the home's verifier key files."""

    database_url: str
    log_key_file: Path
    witness_key_file: Path

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str) -> AuditSource:
        secrets = settings.secrets_dir
        return cls(
            database_url=database_url,
            log_key_file=public_key_path(secrets / SIGNING_KEY_FILE),
            witness_key_file=public_key_path(secrets / WITNESS_KEY_FILE),
        )

    def page_config(self) -> dict[str, str]:
        """Where the page finds a bundle and the keys ("" for a witness key: none here)."""
        return {
            "bundle_url": BUNDLE_PATH,
            "log_key_url": LOG_KEY_PATH,
            "witness_key_url": WITNESS_KEY_PATH if self.witness_key_file.is_file() else "",
        }

    def token_matches(self, conn: psycopg.Connection[Any], order_id: str, token: str) -> bool:
        """Whether ``token`` is the tracking token of ``order_id`` (constant time)."""
        try:
            expected = tracking.tracking_token(conn, order_id)
        except (LookupError, psycopg.Error):
            return False
        return hmac.compare_digest(expected.encode(), token.strip().lower().encode())

    def bundle(self, order_id: str, token: str) -> dict[str, Any] | None:
        """The order's bundle, or None for a wrong token (AuditError: not provable)."""
        with psycopg.connect(self.database_url) as conn:
            conn.read_only = True
            if not self.token_matches(conn, order_id, token):
                return None
            conn.rollback()
            return trace_order(conn, order_id)


def _key_response(path: Path) -> Response:
    if not path.is_file():
        return PlainTextResponse("no such key here\n", status_code=404)
    return PlainTextResponse(
        path.read_text(encoding="utf-8").strip() + "\n", headers={"Cache-Control": "no-cache"}
    )


def audit_routes(source: AuditSource) -> list[BaseRoute]:
    """The bundle and key routes for ``source`` (see the module's docstring)."""

    def bundle(request: Request) -> Response:  # sync: Starlette runs it in a thread
        order_id = request.path_params["order"]
        token = request.query_params.get("token", "")
        headers = {"Cache-Control": "no-store"}
        try:
            document = source.bundle(order_id, token)
        except AuditError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404, headers=headers)
        if document is None:
            return JSONResponse(NOT_FOUND, status_code=404, headers=headers)
        body = json.dumps(document, ensure_ascii=False).encode()
        return Response(body, media_type="application/json", headers=headers)

    def log_key(request: Request) -> Response:
        return _key_response(source.log_key_file)

    def witness_key(request: Request) -> Response:
        return _key_response(source.witness_key_file)

    return [
        Route(BUNDLE_PATH, bundle),
        Route(LOG_KEY_PATH, log_key),
        Route(WITNESS_KEY_PATH, witness_key),
    ]
