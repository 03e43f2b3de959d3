"""The CRM: Salesforce REST query on ``FulfillmentOrder`` (docs/sources.md "crm").

``GET /services/data/v60.0/query?q=<SOQL>`` and ``GET <nextRecordsUrl>``
(``/services/data/v60.0/query/<locator>-<offset>``, under the app's mount point) with
``Authorization: Bearer <access token>``; the token comes from ``POST /services/oauth2/token``
(Salesforce's refresh-token flow, :mod:`sandbox.apis.oauth`). The SOQL understood is
``SELECT <fields> FROM FulfillmentOrder [WHERE <condition>] [ORDER BY LastModifiedDate, Id]
[LIMIT <n>]`` where the condition is ``LastModifiedDate >= <ISO>`` or the keyset form
``LastModifiedDate > <T> OR (LastModifiedDate = <T> AND Id > '<K>')`` (what a client paging by
the last record it saw sends); every field is returned whatever the SELECT list. Batches of
200 unless ``Sforce-Query-Options: batchSize=N`` (1-2000) says otherwise. The locator encodes
the query, so paging needs no server-side state.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.apis.common import BadParameter, exact_instant, instant_param, reply
from sandbox.apis.oauth import TokenIssuer, bearer_token, token_endpoint
from sandbox.clock import ISO_PATTERN, iso, parse_instant
from sandbox.store import SandboxStore

QUERY_PATH = "/services/data/v60.0/query"
TOKEN_PATH = "/services/oauth2/token"
DEFAULT_BATCH = 200
MAX_BATCH = 2000
_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>[\w.]+(?:\s*,\s*[\w.]+)*)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+LastModifiedDate(?:\s+ASC)?\s*,\s*Id(?:\s+ASC)?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SINCE = re.compile(r"^\s*LastModifiedDate\s*>=\s*(?P<since>\S+)\s*$", re.IGNORECASE)
_KEYSET = re.compile(
    r"^\s*\(?\s*LastModifiedDate\s*>\s*(?P<since>[^\s()]+)\s+OR\s+\(\s*LastModifiedDate\s*=\s*"
    r"(?P<equal>[^\s()]+)\s+AND\s+Id\s*>\s*'(?P<key>[^']*)'\s*\)\s*\)?\s*$",
    re.IGNORECASE,
)
_LOCATOR = re.compile(r"^01g(?P<since>[0-9A-F]{15})-(?P<offset>\d+)$")
_KEYSET_LOCATOR = re.compile(r"^01k(?P<query>[0-9A-V]+)-(?P<offset>\d+)$")
_UNAUTHORIZED = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]


@dataclass(frozen=True)
class Query:
    """What a SOQL query asks for: a lower bound or a keyset position, and a LIMIT."""

    since: str | None = None
    after: tuple[str, str] | None = None
    limit: int | None = None


def _malformed(message: str) -> JSONResponse:
    return reply([{"errorCode": "MALFORMED_QUERY", "message": message}], 400)


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


def parse_soql(soql: str | None) -> Query:
    """The bound (or keyset position) and LIMIT of a SOQL query on FulfillmentOrder."""
    if not soql:
        raise BadParameter("q", "a SOQL query is required")
    match = _SOQL.match(soql)
    if match is None:
        raise BadParameter(
            "q",
            "expected SELECT <fields> FROM FulfillmentOrder "
            "[WHERE LastModifiedDate >= <ISO 8601>] ORDER BY LastModifiedDate, Id [LIMIT <n>]",
        )
    if match["object"].lower() != "fulfillmentorder":
        raise BadParameter("q", f"sObject type '{match['object']}' is not supported")
    limit = int(match["limit"]) if match["limit"] is not None else None
    if limit is not None and limit < 1:
        raise BadParameter("q (LIMIT)", f"must be 1 or more, got {limit}")
    where = match["where"]
    if where is None:
        return Query(limit=limit)
    since = _SINCE.match(where)
    if since is not None:
        return Query(since=instant_param(since["since"], "q (LastModifiedDate)"), limit=limit)
    keyset = _KEYSET.match(where)
    if keyset is not None and keyset["since"] == keyset["equal"]:
        position = (exact_instant(keyset["since"], "q (LastModifiedDate)"), keyset["key"])
        return Query(after=position, limit=limit)
    raise BadParameter(
        "q",
        "the only conditions understood are LastModifiedDate >= <ISO 8601> and "
        "LastModifiedDate > <T> OR (LastModifiedDate = <T> AND Id > '<Id>')",
    )


def _locator(query: Query) -> str:
    if query.after is None and query.limit is None:
        seconds = int(parse_instant(query.since)) if query.since else 0
        return f"01g{seconds:015X}"
    raw = json.dumps([query.since, query.after, query.limit], separators=(",", ":")).encode()
    return "01k" + base64.b32hexencode(raw).decode().rstrip("=")


def _from_locator(locator: str) -> tuple[Query, int] | None:
    match = _LOCATOR.match(locator)
    if match is not None:
        seconds = int(match["since"], 16)
        return Query(since=iso(seconds) if seconds else None), int(match["offset"])
    match = _KEYSET_LOCATOR.match(locator)
    if match is None:
        return None
    text = match["query"]
    try:
        raw = base64.b32hexdecode(text + "=" * (-len(text) % 8))
        since, after, limit = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if since is not None and not (isinstance(since, str) and ISO_PATTERN.match(since)):
        return None
    if after is not None and not (
        isinstance(after, list) and len(after) == 2 and all(isinstance(a, str) for a in after)
    ):
        return None
    if limit is not None and not (isinstance(limit, int) and limit >= 1):
        return None
    position = (after[0], after[1]) if after is not None else None
    return Query(since=since, after=position, limit=limit), int(match["offset"])


def create_app(store: SandboxStore, issuer: TokenIssuer) -> Starlette:
    """The CRM app: tokens from ``issuer`` (``POST /services/oauth2/token``), then queries."""

    def page(request: Request, query: Query, offset: int, size: int) -> JSONResponse:
        since = query.after if query.after is not None else query.since
        records, total = store.window("crm", since, offset, size)
        if query.limit is not None:
            total = min(total, query.limit)
            records = records[: max(0, total - offset)]
        end = offset + len(records)
        body: dict[str, Any] = {"totalSize": total, "done": end >= total}
        if end < total:
            root = request.scope.get("root_path", "")
            body["nextRecordsUrl"] = f"{root}{QUERY_PATH}/{_locator(query)}-{end}"
        body["records"] = records
        return reply(body)

    async def query(request: Request) -> JSONResponse:
        if not issuer.valid(bearer_token(request)):
            return reply(_UNAUTHORIZED, 401)
        try:
            size = _batch_size(request)
            parsed = parse_soql(request.query_params.get("q"))
        except BadParameter as problem:
            return _malformed(str(problem))
        return page(request, parsed, 0, size)

    async def query_more(request: Request) -> JSONResponse:
        if not issuer.valid(bearer_token(request)):
            return reply(_UNAUTHORIZED, 401)
        found = _from_locator(request.path_params["locator"])
        if found is None:
            problem = [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
            return reply(problem, 400)
        try:
            size = _batch_size(request)
        except BadParameter as problem:
            return _malformed(str(problem))
        parsed, offset = found
        return page(request, parsed, offset, size)

    return Starlette(
        routes=[
            Route(TOKEN_PATH, token_endpoint(issuer, salesforce=True), methods=["POST"]),
            Route(QUERY_PATH, query, methods=["GET"]),
            Route(QUERY_PATH + "/{locator}", query_more, methods=["GET"]),
        ]
    )
