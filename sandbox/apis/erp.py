"""The ERP: SAP S/4HANA OData v2 ``API_SALES_ORDER_SRV/A_SalesOrder`` (docs/sources.md "erp").

``GET /sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder`` with header ``APIKey``;
``$top`` (≤ 1000, default 100), ``$skip``, ``$orderby=LastChangeDateTime``,
``$filter=LastChangeDateTime ge datetimeoffset'<ISO>'`` (inclusive) or the keyset form
``LastChangeDateTime gt datetimeoffset'<T>' or (LastChangeDateTime eq datetimeoffset'<T>' and
SalesOrder gt '<K>')`` (everything after the order ``K`` changed at ``T``: what a client that
pages by the last record it saw sends, so a record changing mid-walk cannot shift the pages),
``$expand=to_Item``, ``$format=json``, ``$inlinecount=allpages``. Replies
``{"d": {"results": [...], "__count": "<n>", "__next": "<absolute URL>"}}`` (``__count``, a
string, only with ``$inlinecount=allpages``: how many match the filter); ``__next`` carries
the same options and ``$skiptoken`` (server-driven paging, as SAP Gateway pages) and is absent
on the last page. Without ``$expand=to_Item`` the items are a deferred link, as OData v2 does.
Date-times are OData V2 JSON literals, as SAP writes them: ``LastChangeDateTime``
(``Edm.DateTimeOffset``) ``/Date(<ms>+0000)/``, ``CreationDate`` (``Edm.DateTime``)
``/Date(<ms>)/``; the ``$filter`` literal stays ISO 8601 (``datetimeoffset'...'``).

``$select=SalesOrder`` (comma-separated properties) serves only those properties: what the
key reconciliation lists (``connectors/reconcile.py``). ``GET .../A_SalesOrder('<SalesOrder>')``
reads one sales order (``{"d": {...}}``, ``404`` when there is none).
``DELETE .../A_SalesOrder('<SalesOrder>')`` deletes a sales order (``204``, no body; ``404``
when there is none): it is no longer served, and with pushes on the ERP pushes the
``SalesOrder.Deleted`` business event (``sandbox/push.py``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.apis.common import (
    BadParameter,
    exact_instant,
    instant_param,
    int_param,
    optional,
    reply,
    same_secret,
)
from sandbox.store import SandboxStore

ENTITY_SET = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
MAX_TOP = 1000
DEFAULT_TOP = 100
_OPTIONS = frozenset(
    {
        "$format", "$top", "$skip", "$skiptoken", "$orderby", "$filter", "$expand",
        "$inlinecount", "$select",
    }
)  # fmt: skip
_FILTER = re.compile(
    r"^\s*LastChangeDateTime\s+ge\s+datetime(?:offset)?'(?P<since>[^']+)'\s*$", re.IGNORECASE
)
_KEYSET = re.compile(
    r"^\s*\(?\s*LastChangeDateTime\s+gt\s+datetime(?:offset)?'(?P<since>[^']+)'\s+or\s+"
    r"\(\s*LastChangeDateTime\s+eq\s+datetime(?:offset)?'(?P<equal>[^']+)'\s+and\s+"
    r"SalesOrder\s+gt\s+'(?P<key>[^']*)'\s*\)\s*\)?\s*$",
    re.IGNORECASE,
)
_ORDERBY = re.compile(
    r"^\s*LastChangeDateTime(?:\s+asc)?(?:\s*,\s*SalesOrder(?:\s+asc)?)?\s*$", re.IGNORECASE
)


def error_body(status: int, message: str) -> dict[str, Any]:
    """An OData V2 error answer (``error.code``, ``error.message.value``)."""
    return {"error": {"code": str(status), "message": {"lang": "en", "value": message}}}


def _error(status: int, message: str) -> JSONResponse:
    return reply(error_body(status, message), status)


def _query(request: Request) -> tuple[str | tuple[str, str] | None, int, int, bool]:
    """(since or keyset position, top, skip, expand) from the OData system query options;
    ``skip`` counts ``$skip`` and the server's ``$skiptoken`` (what its ``__next`` carries)."""
    params = request.query_params
    for name in params:
        if name.startswith("$") and name not in _OPTIONS:
            raise BadParameter(name, "system query option not supported")
    fmt = optional(request, "$format")
    if fmt is not None and fmt.lower() != "json":
        raise BadParameter("$format", f"only json is served, got {fmt!r}")
    top = int_param(optional(request, "$top"), "$top", default=DEFAULT_TOP, low=1, high=MAX_TOP)
    skip = int_param(optional(request, "$skip"), "$skip", default=0, low=0, high=None)
    skip += int_param(optional(request, "$skiptoken"), "$skiptoken", default=0, low=0, high=None)
    count = optional(request, "$inlinecount")
    if count is not None and count not in ("allpages", "none"):
        raise BadParameter("$inlinecount", f"allpages or none, got {count!r}")
    orderby = optional(request, "$orderby")
    if orderby is not None and not _ORDERBY.match(orderby):
        raise BadParameter(
            "$orderby", f"only LastChangeDateTime (asc) is supported, got {orderby!r}"
        )
    since: str | tuple[str, str] | None = None
    condition = optional(request, "$filter")
    if condition is not None:
        match = _FILTER.match(condition)
        keyset = None if match else _KEYSET.match(condition)
        if match is not None:
            since = instant_param(match["since"], "$filter")
        elif keyset is not None and keyset["since"] == keyset["equal"]:
            since = (exact_instant(keyset["since"], "$filter"), keyset["key"])
        else:
            raise BadParameter(
                "$filter",
                "only LastChangeDateTime ge datetimeoffset'<ISO 8601>' (or the keyset form "
                "LastChangeDateTime gt datetimeoffset'<T>' or (LastChangeDateTime eq "
                f"datetimeoffset'<T>' and SalesOrder gt '<K>')) is supported, got {condition!r}",
            )
    expand = optional(request, "$expand")
    if expand is not None and expand.strip() != "to_Item":
        raise BadParameter("$expand", f"only to_Item can be expanded, got {expand!r}")
    return since, top, skip, expand is not None


def _next_link(request: Request, top: int, skip: int) -> str:
    """The absolute URL of the page after this one, as SAP Gateway's server-driven paging
    writes it: the same options, and ``$skiptoken`` where the next page starts."""
    dropped = ("$top", "$skip", "$skiptoken")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in dropped]
    kept += [("$top", str(top)), ("$skiptoken", str(skip + top))]
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '$:,()')}" for k, v in kept)
    return f"{request.url.replace(query='')}?{query}"


def _deferred(record: dict[str, Any], entity_set: str) -> dict[str, Any]:
    uri = f"{entity_set}('{record['SalesOrder']}')/to_Item"
    return {**record, "to_Item": {"__deferred": {"uri": uri}}}


def _selected(request: Request, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page with only the ``$select``-ed properties (all without ``$select``)."""
    chosen = optional(request, "$select")
    if chosen is None:
        return page
    names = [name.strip() for name in chosen.split(",")]
    unknown = [name for name in names if page and name not in page[0]]
    if unknown:
        raise BadParameter("$select", f"no property {', '.join(unknown)} of A_SalesOrder")
    return [{name: record[name] for name in names if name in record} for record in page]


def create_app(store: SandboxStore, api_key: str) -> Starlette:
    """The ERP app, accepting header ``APIKey: <api_key>``."""

    async def sales_orders(request: Request) -> JSONResponse:
        if not same_secret(request.headers.get("apikey"), api_key):
            return _error(401, "Invalid or missing API key (header APIKey)")
        try:
            since, top, skip, expand = _query(request)
        except BadParameter as problem:
            return _error(400, f"Invalid query option {problem}")
        page, total = store.window("erp", since, skip, top)
        if not expand:
            entity_set = str(request.url.replace(query=""))
            page = [_deferred(record, entity_set) for record in page]
        try:
            body: dict[str, Any] = {"results": _selected(request, page)}
        except BadParameter as problem:
            return _error(400, f"Invalid query option {problem}")
        if request.query_params.get("$inlinecount") == "allpages":
            body["__count"] = str(total)  # OData V2 verbose JSON: the count as a string
        if skip + top < total:
            body["__next"] = _next_link(request, top, skip)
        return reply({"d": body})

    async def entity(request: Request) -> JSONResponse:
        if not same_secret(request.headers.get("apikey"), api_key):
            return _error(401, "Invalid or missing API key (header APIKey)")
        record = store.get("erp", request.path_params["key"])
        if record is None:
            return _error(404, f"Resource not found for segment {request.url.path!r}")
        entity_set = str(request.url.replace(query="")).rsplit("(", 1)[0]
        return reply({"d": _deferred(record, entity_set)})

    async def delete(request: Request) -> Response:
        if not same_secret(request.headers.get("apikey"), api_key):
            return _error(401, "Invalid or missing API key (header APIKey)")
        if not store.delete("erp", request.path_params["key"]):
            return _error(404, f"Resource not found for segment {request.url.path!r}")
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route(ENTITY_SET, sales_orders, methods=["GET"]),
            Route(ENTITY_SET + "('{key}')", entity, methods=["GET"]),
            Route(ENTITY_SET + "('{key}')", delete, methods=["DELETE"]),
        ]
    )
