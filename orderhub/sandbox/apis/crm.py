"""The CRM: Salesforce REST query on ``FulfillmentOrder`` (docs/sources.md "crm").

``GET /services/data/v60.0/query?q=<SOQL>`` and ``GET <nextRecordsUrl>``
(``/services/data/v60.0/query/<locator>-<offset>``, under the app's mount point) with
``Authorization: Bearer <token>``. The SOQL understood is
``SELECT <fields> FROM FulfillmentOrder [WHERE LastModifiedDate >= <ISO>]
[ORDER BY LastModifiedDate, Id]``; every field is returned whatever the SELECT list.
Batches of 200 unless ``Sforce-Query-Options: batchSize=N`` (1-2000) says otherwise.
The locator encodes the filter, so paging needs no server-side state.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orderhub.sandbox.apis.common import BadParameter, instant_param, reply, same_secret
from orderhub.sandbox.clock import iso, parse_instant
from orderhub.sandbox.store import SandboxStore

QUERY_PATH = "/services/data/v60.0/query"
DEFAULT_BATCH = 200
MAX_BATCH = 2000
_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>[\w.]+(?:\s*,\s*[\w.]+)*)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+LastModifiedDate\s*>=\s*(?P<since>\S+))?"
    r"(?:\s+ORDER\s+BY\s+LastModifiedDate(?:\s+ASC)?\s*,\s*Id(?:\s+ASC)?)?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_LOCATOR = re.compile(r"^01g(?P<since>[0-9A-F]{15})-(?P<offset>\d+)$")
_UNAUTHORIZED = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]


def _malformed(message: str) -> JSONResponse:
    return reply([{"errorCode": "MALFORMED_QUERY", "message": message}], 400)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _batch_size(request: Request) -> int:
    """``batchSize`` from the ``Sforce-Query-Options`` header (default 200)."""
    options = request.headers.get("sforce-query-options", "")
    for option in options.split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize":
            try:
                size = int(value.strip())
            except ValueError:
                raise BadParameter(
                    "Sforce-Query-Options batchSize", f"not an integer: {value!r}"
                ) from None
            if not 1 <= size <= MAX_BATCH:
                raise BadParameter(
                    "Sforce-Query-Options batchSize",
                    f"must be between 1 and {MAX_BATCH}, got {size}",
                )
            return size
    return DEFAULT_BATCH


def _parse_soql(soql: str | None) -> str | None:
    """The inclusive ``LastModifiedDate`` bound of a SOQL query (``None``: no filter)."""
    if not soql:
        raise BadParameter("q", "a SOQL query is required")
    match = _SOQL.match(soql)
    if match is None:
        raise BadParameter(
            "q",
            "expected SELECT <fields> FROM FulfillmentOrder "
            "[WHERE LastModifiedDate >= <ISO 8601>] ORDER BY LastModifiedDate, Id",
        )
    if match["object"].lower() != "fulfillmentorder":
        raise BadParameter("q", f"sObject type '{match['object']}' is not supported")
    if match["since"] is None:
        return None
    return instant_param(match["since"], "q (LastModifiedDate)")


def _locator(since: str | None) -> str:
    seconds = int(parse_instant(since)) if since else 0
    return f"01g{seconds:015X}"


def create_app(store: SandboxStore, token: str) -> Starlette:
    """The CRM app, accepting ``Authorization: Bearer <token>``."""

    def page(request: Request, since: str | None, offset: int, size: int) -> JSONResponse:
        records, total = store.window("crm", since, offset, size)
        end = offset + len(records)
        body: dict[str, Any] = {"totalSize": total, "done": end >= total}
        if end < total:
            root = request.scope.get("root_path", "")
            body["nextRecordsUrl"] = f"{root}{QUERY_PATH}/{_locator(since)}-{end}"
        body["records"] = records
        return reply(body)

    async def query(request: Request) -> JSONResponse:
        if not same_secret(_bearer(request), token):
            return reply(_UNAUTHORIZED, 401)
        try:
            size = _batch_size(request)
            since = _parse_soql(request.query_params.get("q"))
        except BadParameter as problem:
            return _malformed(str(problem))
        return page(request, since, 0, size)

    async def query_more(request: Request) -> JSONResponse:
        if not same_secret(_bearer(request), token):
            return reply(_UNAUTHORIZED, 401)
        match = _LOCATOR.match(request.path_params["locator"])
        if match is None:
            problem = [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
            return reply(problem, 400)
        try:
            size = _batch_size(request)
        except BadParameter as problem:
            return _malformed(str(problem))
        since_seconds = int(match["since"], 16)
        since = iso(since_seconds) if since_seconds else None
        return page(request, since, int(match["offset"]), size)

    return Starlette(
        routes=[
            Route(QUERY_PATH, query, methods=["GET"]),
            Route(QUERY_PATH + "/{locator}", query_more, methods=["GET"]),
        ]
    )
