"""The CRM: Salesforce REST ``query`` and ``queryAll`` on ``FulfillmentOrder`` (docs/sources.md
"crm"; the documents followed are cited in sandbox/README.md).

``GET /services/data/v60.0/query?q=<SOQL>`` (live records) and ``.../queryAll?q=<SOQL>``
(deleted records too, with ``IsDeleted: true``), then ``GET <nextRecordsUrl>``
(``/services/data/v60.0/query/<locator>-<n>``, under the app's mount point), with
``Authorization: Bearer <access token>`` from ``POST /services/oauth2/token`` (the OAuth 2.0
client-credentials flow, :mod:`sandbox.apis.oauth`). The SOQL understood is ``SELECT <fields>
FROM FulfillmentOrder [WHERE SystemModstamp >= <ISO>] [ORDER BY SystemModstamp[, Id]] [LIMIT
<n>]``; every field is returned whatever the SELECT list. Batches of 2000 unless
``Sforce-Query-Options: batchSize=N`` (200-2000 at Salesforce; 1-2000 here) says otherwise.

The query locator is a server-side cursor: it encodes the query and the (SystemModstamp, Id)
of the last record served, so a record that changes while a client pages moves behind the
cursor and is served later in the same walk, never shifting the others; no server state.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.apis.common import BadParameter, instant_param, reply
from sandbox.apis.oauth import TokenIssuer, bearer_token, token_endpoint
from sandbox.clock import ISO_PATTERN
from sandbox.store import SandboxStore

API = "/services/data/v60.0"
QUERY_PATH = f"{API}/query"
QUERY_ALL_PATH = f"{API}/queryAll"
TOKEN_PATH = "/services/oauth2/token"
DEFAULT_BATCH = 2000
MAX_BATCH = 2000
#: The field a client filters and orders on (Salesforce's system modification stamp).
CURSOR = "SystemModstamp"
_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>[\w.]+(?:\s*,\s*[\w.]+)*)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+SystemModstamp(?:\s+ASC)?(?:\s*,\s*Id(?:\s+ASC)?)?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SINCE = re.compile(r"^\s*SystemModstamp\s*>=\s*(?P<since>\S+)\s*$", re.IGNORECASE)
_LOCATOR = re.compile(r"^01g(?P<cursor>[0-9A-V]+)-(?P<served>\d+)$")
_UNAUTHORIZED = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]


@dataclass(frozen=True)
class Query:
    """What a query asks for, and where its cursor stands (after ``after``, ``served`` sent)."""

    since: str | None = None
    limit: int | None = None
    deleted: bool = False
    total: int = 0
    after: tuple[str, str] | None = None
    served: int = 0


def _malformed(message: str) -> JSONResponse:
    return reply([{"errorCode": "MALFORMED_QUERY", "message": message}], 400)


def _batch_size(request: Request) -> int:
    """``batchSize`` from the ``Sforce-Query-Options`` header (default 2000)."""
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
    """The lower bound and LIMIT of a SOQL query on FulfillmentOrder."""
    if not soql:
        raise BadParameter("q", "a SOQL query is required")
    match = _SOQL.match(soql)
    if match is None:
        raise BadParameter(
            "q",
            "expected SELECT <fields> FROM FulfillmentOrder "
            "[WHERE SystemModstamp >= <ISO 8601>] ORDER BY SystemModstamp, Id [LIMIT <n>]",
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
    if since is None:
        raise BadParameter("q", "the only condition understood is SystemModstamp >= <ISO 8601>")
    return Query(since=instant_param(since["since"], "q (SystemModstamp)"), limit=limit)


def _locator(query: Query) -> str:
    raw = json.dumps(
        [query.since, query.limit, query.deleted, query.total, query.after],
        separators=(",", ":"),
    ).encode()
    return "01g" + base64.b32hexencode(raw).decode().rstrip("=") + f"-{query.served}"


def _from_locator(locator: str) -> Query | None:
    match = _LOCATOR.match(locator)
    if match is None:
        return None
    text = match["cursor"]
    try:
        raw = base64.b32hexdecode(text + "=" * (-len(text) % 8))
        since, limit, deleted, total, after = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    valid = (
        (since is None or (isinstance(since, str) and ISO_PATTERN.match(since)))
        and (limit is None or (isinstance(limit, int) and limit >= 1))
        and isinstance(deleted, bool)
        and isinstance(total, int)
        and isinstance(after, list)
        and len(after) == 2
        and all(isinstance(a, str) for a in after)
    )
    if not valid:
        return None
    return Query(since, limit, deleted, total, (after[0], after[1]), int(match["served"]))


def _matching(store: SandboxStore, query: Query) -> int:
    """How many records the query matches (``totalSize``)."""
    _, total = store.window("crm", query.since, 0, 0)
    if query.deleted:
        return total
    return total - store.count_where("crm", query.since, lambda r: bool(r.get("IsDeleted")))


def _next_records(store: SandboxStore, query: Query, size: int) -> tuple[list[Any], bool]:
    """Up to ``size`` records after the query's cursor, and whether any follow them."""
    if query.limit is not None:
        size = min(size, query.limit - query.served)
    records: list[Any] = []
    after = query.after
    while len(records) < size:
        page, more = store.after("crm", query.since, after, size - len(records))
        if page:
            last = page[-1]
            after = (last[CURSOR], last["Id"])
        records += [r for r in page if query.deleted or not r.get("IsDeleted")]
        if not more:
            return records, False
    if query.limit is not None and query.served + len(records) >= query.limit:
        return records, False
    rest, _ = store.after("crm", query.since, after, 1)
    return records, bool(rest)


def create_app(store: SandboxStore, issuer: TokenIssuer) -> Starlette:
    """The CRM app: tokens from ``issuer`` (``POST /services/oauth2/token``), then queries."""

    def page(request: Request, query: Query, size: int) -> JSONResponse:
        records, more = _next_records(store, query, size)
        body: dict[str, Any] = {"totalSize": query.total, "done": not more}
        if more:
            last = records[-1] if records else None
            after = (last[CURSOR], last["Id"]) if last is not None else query.after
            moved = replace(query, after=after, served=query.served + len(records))
            root = request.scope.get("root_path", "")
            body["nextRecordsUrl"] = f"{root}{QUERY_PATH}/{_locator(moved)}"
        body["records"] = records
        return reply(body)

    def start(deleted: bool) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def query(request: Request) -> JSONResponse:
            if not issuer.valid(bearer_token(request)):
                return reply(_UNAUTHORIZED, 401)
            try:
                size = _batch_size(request)
                parsed = replace(parse_soql(request.query_params.get("q")), deleted=deleted)
            except BadParameter as problem:
                return _malformed(str(problem))
            total = _matching(store, parsed)
            if parsed.limit is not None:
                total = min(total, parsed.limit)
            return page(request, replace(parsed, total=total), size)

        return query

    async def query_more(request: Request) -> JSONResponse:
        if not issuer.valid(bearer_token(request)):
            return reply(_UNAUTHORIZED, 401)
        parsed = _from_locator(request.path_params["locator"])
        if parsed is None:
            problem = [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
            return reply(problem, 400)
        try:
            size = _batch_size(request)
        except BadParameter as problem:
            return _malformed(str(problem))
        return page(request, parsed, size)

    return Starlette(
        routes=[
            Route(TOKEN_PATH, token_endpoint(issuer, salesforce=True), methods=["POST"]),
            Route(QUERY_PATH, start(deleted=False), methods=["GET"]),
            Route(QUERY_ALL_PATH, start(deleted=True), methods=["GET"]),
            Route(QUERY_PATH + "/{locator}", query_more, methods=["GET"]),
        ]
    )
