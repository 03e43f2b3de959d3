"""The WMS: Odoo's external JSON-RPC API on ``stock.picking``, ``stock.quant`` and
``stock.warehouse`` (:data:`MODELS`; docs/sources.md "wms" and "wms stock"; the documents
followed are cited in sandbox/README.md).

``POST /jsonrpc`` with a JSON-RPC 2.0 call (``{"jsonrpc": "2.0", "method": "call", "params":
{"service": ..., "method": ..., "args": [...]}, "id": n}``):

- ``common`` / ``version`` and ``authenticate(db, login, api_key, {})`` (the user id, or
  ``false``);
- ``object`` / ``execute_kw(db, uid, api_key, <model>, method, args, kwargs)`` with
  ``search_read`` (``[domain]``, ``fields``, ``limit`` ≤ 500 as the sandbox caps it, ``offset``,
  ``order``, ``context``) or ``search_count`` (``[domain]``).

The answer is ``{"jsonrpc": "2.0", "id": n, "result": ...}``; a failure is HTTP 200 with
``error`` (``code`` 200, ``message`` "Odoo Server Error", ``data.name`` the exception:
``odoo.exceptions.AccessDenied`` for a wrong database, user or key), as Odoo answers. Records
come as Odoo writes them: datetimes ``2026-10-03 14:05:09`` (UTC), many2one ``[id, name]``,
an empty value ``false``. The domain is Odoo's prefix notation over ``write_date`` and ``id``
(:mod:`sandbox.apis.odoo_domain`); ``order`` must be ``write_date asc, id asc`` (the default
when none is given here; Odoo's own default for pickings differs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.apis.common import reply, same_secret
from sandbox.apis.odoo_domain import DomainError, page_of, parse_order
from sandbox.store import SandboxStore

PATH = "/jsonrpc"
#: The one list of the Odoo models this WMS serves: model name -> the store's table of it
#: (the quants and warehouses are derived from the pickings, :meth:`StockBook.refresh`).
MODELS: dict[str, str] = {
    "stock.picking": "wms",
    "stock.quant": "wms_quants",
    "stock.warehouse": "wms_warehouses",
}
#: Rebuilds the derived tables before a read (the server passes the stock book's).
Refresh = Callable[[], None]
MAX_LIMIT = 500
#: The sandbox's Odoo: its database, the user an API key belongs to, the server version.
DATABASE, UID, SERVER_VERSION = "orderhub", 2, "17.0"


class RpcError(Exception):
    """An Odoo server error: the exception's dotted name and its message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message


def _answer(call_id: Any, result: Any) -> JSONResponse:
    return reply({"jsonrpc": "2.0", "id": call_id, "result": result})


def error_body(call_id: Any, name: str, message: str) -> dict[str, Any]:
    """Odoo's JSON-RPC error answer (sent with HTTP 200)."""
    data = {"name": name, "debug": "", "message": message, "arguments": [message], "context": {}}
    error = {"code": 200, "message": "Odoo Server Error", "data": data}
    return {"jsonrpc": "2.0", "id": call_id, "error": error}


def _denied() -> RpcError:
    return RpcError("odoo.exceptions.AccessDenied", "Access Denied")


def _search_read(
    store: SandboxStore, table: str, args: list[Any], kwargs: dict[str, Any]
) -> list[Any]:
    domain = args[0] if args else kwargs.get("domain", [])
    limit = kwargs.get("limit") or MAX_LIMIT
    offset = kwargs.get("offset") or 0
    if not (isinstance(limit, int) and isinstance(offset, int) and limit > 0 and offset >= 0):
        raise RpcError("builtins.ValueError", "limit and offset must be whole numbers")
    parse_order(kwargs.get("order"))
    records, _ = page_of(store, table, domain, offset, min(limit, MAX_LIMIT))
    fields = kwargs.get("fields")
    if fields:
        return [{name: r[name] for name in ("id", *fields) if name in r} for r in records]
    return records


def _execute(store: SandboxStore, api_key: str, args: list[Any], refresh: Refresh) -> Any:
    if len(args) < 5:
        raise RpcError("builtins.TypeError", "execute_kw() takes at least 5 arguments")
    database, uid, key, model, method, *rest = args
    if database != DATABASE or uid != UID or not same_secret(str(key), api_key):
        raise _denied()
    if model not in MODELS:
        served = ", ".join(MODELS)
        raise RpcError("builtins.KeyError", f"{model!r}: the sandbox serves {served} only")
    table = MODELS[model]
    if table != "wms":
        refresh()
    positional = rest[0] if rest else []
    named = rest[1] if len(rest) > 1 else {}
    if not isinstance(positional, list) or not isinstance(named, dict):
        raise RpcError("builtins.TypeError", "args must be a list and kwargs a mapping")
    if method == "search_read":
        return _search_read(store, table, positional, named)
    if method == "search_count":
        return page_of(store, table, positional[0] if positional else [], 0, 0)[1]
    raise RpcError("builtins.AttributeError", f"The method '{method}' does not exist")


def _call(store: SandboxStore, api_key: str, params: dict[str, Any], refresh: Refresh) -> Any:
    service, method, args = params.get("service"), params.get("method"), params.get("args")
    if not isinstance(args, list):
        raise RpcError("builtins.TypeError", "params.args must be a list")
    if service == "common" and method == "version":
        return {"server_version": SERVER_VERSION, "protocol_version": 1}
    if service == "common" and method in ("authenticate", "login"):
        database, _login, key = [*args, None, None, None][:3]
        return UID if database == DATABASE and same_secret(str(key), api_key) else False
    if service == "object" and method == "execute_kw":
        return _execute(store, api_key, args, refresh)
    raise RpcError("builtins.KeyError", f"no method {service}.{method}")


def create_app(store: SandboxStore, api_key: str, refresh: Refresh | None = None) -> Starlette:
    """The WMS app: Odoo's ``/jsonrpc``, accepting the user's API key as its password;
    ``refresh`` rebuilds the derived models' tables before they are read."""
    keep = refresh or (lambda: None)

    async def jsonrpc(request: Request) -> JSONResponse:
        try:
            call = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32700}}, 400)
        call_id = call.get("id") if isinstance(call, dict) else None
        params = call.get("params") if isinstance(call, dict) else None
        if not isinstance(params, dict) or call.get("method") != "call":
            problem = error_body(call_id, "werkzeug.exceptions.BadRequest", "not a JSON-RPC call")
            return reply(problem)
        try:
            return _answer(call_id, _call(store, api_key, params, keep))
        except DomainError as problem:
            return reply(error_body(call_id, "builtins.ValueError", str(problem)))
        except RpcError as problem:
            return reply(error_body(call_id, problem.name, problem.message))

    return Starlette(routes=[Route(PATH, jsonrpc, methods=["POST"])])


def _model_called(body: bytes) -> str | None:
    """The model an ``execute_kw`` call names, or None (another call, or no JSON)."""
    try:
        params = orjson.loads(body).get("params") or {}
        args = params.get("args") or []
        return str(args[3]) if params.get("method") == "execute_kw" and len(args) > 3 else None
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        return None


def faults_on_pickings_only(faulted: ASGIApp, plain: ASGIApp) -> ASGIApp:
    """The WMS with its faults played on the order stream's calls (``stock.picking`` and
    whatever names no model) and the stock models' calls sent around them to ``plain``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await faulted(scope, receive, send)
            return
        messages: list[Message] = []
        while not messages or messages[-1].get("more_body", False):
            messages.append(await receive())
            if messages[-1]["type"] != "http.request":
                break
        body = b"".join(m.get("body", b"") for m in messages)
        replay = iter(messages)

        async def again() -> Message:
            return next(replay, None) or await receive()

        model = _model_called(body)
        target = plain if model is not None and model != "stock.picking" else faulted
        await target(scope, again, send)

    return app
