"""The WMS: Odoo-style ``stock.picking`` list, three-step delivery (docs/sources.md "wms").

``GET /api/v1/pickings?updated_since=<ISO>&limit=<n>&cursor=<opaque>`` with
``Authorization: Bearer <access token>``, the token from ``POST /api/v1/oauth/token``
(OAuth 2.0 client credentials, :mod:`sandbox.apis.oauth`); ``limit`` ≤ 500,
default 100. Replies
``{"data": [...], "next_cursor": "<opaque>" | null}``. The cursor is the sort key of the
last picking served (keyset paging), so a page boundary is a binary search and a
picking that changes mid-walk cannot shift the ones after it.
"""

from __future__ import annotations

import base64
import binascii
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.apis.common import (
    BadParameter,
    instant_param,
    int_param,
    optional,
    reply,
)
from sandbox.apis.oauth import TokenIssuer, bearer_token, token_endpoint
from sandbox.clock import ISO_PATTERN
from sandbox.store import SandboxStore, SortKey

PATH = "/api/v1/pickings"
TOKEN_PATH = "/api/v1/oauth/token"
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
_PARAMETERS = frozenset({"updated_since", "limit", "cursor"})


def encode_cursor(key: SortKey) -> str:
    """The opaque cursor for "after the picking with sort key ``key``"."""
    raw = json.dumps([key[0], key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """The sort key an opaque cursor stands for; ``BadParameter`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        written, picking_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise BadParameter("cursor", "not a cursor this API handed out") from None
    if not isinstance(written, str) or not ISO_PATTERN.match(written):
        raise BadParameter("cursor", "not a cursor this API handed out")
    if not isinstance(picking_id, int) or isinstance(picking_id, bool):
        raise BadParameter("cursor", "not a cursor this API handed out")
    return (written, picking_id)


def create_app(store: SandboxStore, issuer: TokenIssuer) -> Starlette:
    """The WMS app: tokens from ``issuer`` (``POST /api/v1/oauth/token``), then pickings."""

    async def pickings(request: Request) -> JSONResponse:
        if not issuer.valid(bearer_token(request)):
            return reply({"error": "invalid token"}, 401)
        try:
            unknown = sorted(set(request.query_params) - _PARAMETERS)
            if unknown:
                raise BadParameter(unknown[0], "unknown parameter")
            since = instant_param(optional(request, "updated_since"), "updated_since")
            limit = int_param(
                optional(request, "limit"), "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT
            )
            cursor = optional(request, "cursor")
            after = decode_cursor(cursor) if cursor else None
        except BadParameter as problem:
            return reply({"error": str(problem)}, 400)
        data, more = store.after("wms", since, after, limit)
        next_cursor = None
        if more and data:
            last = data[-1]
            next_cursor = encode_cursor((last["write_date"], last["id"]))
        return reply({"data": data, "next_cursor": next_cursor})

    return Starlette(
        routes=[
            Route(TOKEN_PATH, token_endpoint(issuer, salesforce=False), methods=["POST"]),
            Route(PATH, pickings, methods=["GET"]),
        ]
    )
