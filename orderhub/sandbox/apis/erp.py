"""The ERP: SAP S/4HANA OData v2 ``API_SALES_ORDER_SRV/A_SalesOrder`` (docs/sources.md "erp").

``GET /sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder`` with header ``APIKey``;
``$top`` (≤ 1000, default 100), ``$skip``, ``$orderby=LastChangeDateTime``,
``$filter=LastChangeDateTime ge datetimeoffset'<ISO>'`` (inclusive), ``$expand=to_Item``,
``$format=json``. Replies ``{"d": {"results": [...], "__next": "<absolute URL>"}}``;
``__next`` is absent on the last page. Without ``$expand=to_Item`` the items are a
deferred link, as OData v2 does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orderhub.sandbox.apis.common import (
    BadParameter,
    instant_param,
    int_param,
    optional,
    reply,
    same_secret,
)
from orderhub.sandbox.store import SandboxStore

ENTITY_SET = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
MAX_TOP = 1000
DEFAULT_TOP = 100
_OPTIONS = frozenset({"$format", "$top", "$skip", "$orderby", "$filter", "$expand"})
_FILTER = re.compile(
    r"^\s*LastChangeDateTime\s+ge\s+datetime(?:offset)?'(?P<since>[^']+)'\s*$", re.IGNORECASE
)
_ORDERBY = re.compile(
    r"^\s*LastChangeDateTime(?:\s+asc)?(?:\s*,\s*SalesOrder(?:\s+asc)?)?\s*$", re.IGNORECASE
)


def _error(status: int, message: str) -> JSONResponse:
    body = {"error": {"code": str(status), "message": {"lang": "en", "value": message}}}
    return reply(body, status)


def _query(request: Request) -> tuple[str | None, int, int, bool]:
    """(since, top, skip, expand) from the OData system query options."""
    params = request.query_params
    for name in params:
        if name.startswith("$") and name not in _OPTIONS:
            raise BadParameter(name, "system query option not supported")
    fmt = optional(request, "$format")
    if fmt is not None and fmt.lower() != "json":
        raise BadParameter("$format", f"only json is served, got {fmt!r}")
    top = int_param(optional(request, "$top"), "$top", default=DEFAULT_TOP, low=1, high=MAX_TOP)
    skip = int_param(optional(request, "$skip"), "$skip", default=0, low=0, high=None)
    orderby = optional(request, "$orderby")
    if orderby is not None and not _ORDERBY.match(orderby):
        raise BadParameter(
            "$orderby", f"only LastChangeDateTime (asc) is supported, got {orderby!r}"
        )
    since = None
    condition = optional(request, "$filter")
    if condition is not None:
        match = _FILTER.match(condition)
        if match is None:
            raise BadParameter(
                "$filter",
                "only LastChangeDateTime ge datetimeoffset'<ISO 8601>' is supported, "
                f"got {condition!r}",
            )
        since = instant_param(match["since"], "$filter")
    expand = optional(request, "$expand")
    if expand is not None and expand.strip() != "to_Item":
        raise BadParameter("$expand", f"only to_Item can be expanded, got {expand!r}")
    return since, top, skip, expand is not None


def _next_link(request: Request, top: int, skip: int) -> str:
    """The absolute URL of the page after this one: same options, ``$skip`` moved on."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("$top", "$skip")]
    kept += [("$top", str(top)), ("$skip", str(skip + top))]
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '$:,()')}" for k, v in kept)
    return f"{request.url.replace(query='')}?{query}"


def _deferred(record: dict[str, Any], entity_set: str) -> dict[str, Any]:
    uri = f"{entity_set}('{record['SalesOrder']}')/to_Item"
    return {**record, "to_Item": {"__deferred": {"uri": uri}}}


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
        body: dict[str, Any] = {"results": page}
        if skip + top < total:
            body["__next"] = _next_link(request, top, skip)
        return reply({"d": body})

    return Starlette(routes=[Route(ENTITY_SET, sales_orders, methods=["GET"])])
