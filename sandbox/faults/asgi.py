"""The ASGI wrapper that injects one system's faults into each record request it serves.

:class:`FaultyApp` counts the system's record requests (``GET``; the OAuth token endpoint
and the lifespan pass untouched), answers the faults that replace the answer (``delay``,
``expire``, ``429``, ``5xx``), lets the plan change the source (``change``, ``late``), then
serves the real app's page as it is, rewritten (:mod:`sandbox.faults.rewrites`), cut
(``drop``, ``timeout``) or spoiled (``malformed``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson

from sandbox.apis import crm, erp, tms, wms
from sandbox.apis.oauth import TokenIssuer
from sandbox.faults.rewrites import BODY_KINDS, records_of, rewrite_page
from sandbox.faults.spec import Fault
from sandbox.store import SandboxStore

if TYPE_CHECKING:
    from sandbox.faults.plan import FaultPlan

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The faults that need the pages served so far (``change`` and ``late`` pick from them).
PAGE_READERS = BODY_KINDS | {"change", "late"}
#: The faults that cut or spoil a page's bytes.
BYTE_KINDS = frozenset({"drop", "timeout", "malformed"})
#: The faults that cut the connection in the middle of a page.
CUT_KINDS = ("drop", "timeout")
_SERVER_ERRORS = ("500", "502", "503", "504")
_BATCH_SIZE = re.compile(r"batchsize\s*=\s*(\d+)", re.IGNORECASE)
#: Where each system's client asks for a page size, and the size it gets when it does not.
PAGE_SIZE_OPTION: dict[str, tuple[str, int]] = {
    "erp": ("$top", erp.DEFAULT_TOP),
    "crm": ("sforce-query-options", crm.DEFAULT_BATCH),
    "wms": ("limit", wms.MAX_LIMIT),
    "tms": ("page_size", tms.DEFAULT_PAGE_SIZE),
}


class _CutConnectionFilter(logging.Filter):
    """Drops uvicorn's error line for a response cut on purpose (``drop``, ``timeout``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def quiet_cut_connections() -> None:
    """Keep uvicorn from logging each response a fault cuts on purpose as an error."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _CutConnectionFilter) for f in logger.filters):
        logger.addFilter(_CutConnectionFilter())


def error_body(system: str, status: int, message: str) -> Any:
    """An error answer in ``system``'s own shape."""
    if system == "erp":
        return erp.error_body(status, message)
    if system == "crm":
        code = "REQUEST_LIMIT_EXCEEDED" if status == 429 else "SERVER_UNAVAILABLE"
        return [{"errorCode": code, "message": message}]
    if system == "tms":
        code = "RATE_LIMITED" if status == 429 else "INTERNAL_SERVER_ERROR"
        return {"error": {"code": code, "message": message}}
    return {"error": message}


class FaultyApp:
    """ASGI wrapper that injects one system's faults around its app."""

    def __init__(
        self,
        app: App,
        system: str,
        faults: list[Fault],
        plan: FaultPlan,
        store: SandboxStore,
        issuer: TokenIssuer | None,
    ) -> None:
        self.app = app
        self.system = system
        self.faults = faults
        self.plan = plan
        self.store = store
        self.issuer = issuer
        #: Whether any of this system's faults reads the pages (else they pass untouched).
        self.reads_pages = any(fault.kind in PAGE_READERS for fault in faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the WMS's calls are JSON-RPC POSTs; elsewhere a POST is a token request
        method = "POST" if self.system == "wms" else "GET"
        if scope["type"] != "http" or scope.get("method") != method:
            await self.app(scope, receive, send)  # token endpoint, lifespan: untouched
            return
        plan, system = self.plan, self.system
        number = plan.next_request(system)
        firing = [f for f in self.faults if f.fires(plan.seed, number)]
        for fault in firing:
            plan.record_firing(system, number, fault.kind)
        kinds = {f.kind: f for f in firing}
        if await self._answered_instead(send, kinds):
            return
        if "change" in kinds:
            plan.change(system, self.store, number, int(kinds["change"].number()))
        if "late" in kinds:
            plan.late(system, self.store, number, int(kinds["late"].number()))
        if "short" in kinds and system == "wms":
            receive = await halved_rpc_limit(receive)
        elif "short" in kinds:
            scope = halved_page_size(system, scope)
        if not self.reads_pages and not (BYTE_KINDS & set(kinds)):
            await self.app(scope, receive, send)  # nothing to do to this page: stream it
            return
        status, headers, body = await _capture(self.app, scope, receive)
        if status != 200:
            await _send_raw(send, status, headers, body)
            return
        body = self._rewritten(body, number, kinds, firing)
        if any(kind in kinds for kind in CUT_KINDS):
            await _send_cut(send, headers, body)
            if "timeout" in kinds:
                await asyncio.sleep(kinds["timeout"].number())
            return  # the server closes a connection whose response never completed
        if "malformed" in kinds:
            body = body[: max(1, len(body) // 2)]
        await _send_raw(send, 200, headers, body)

    async def _answered_instead(self, send: Send, kinds: dict[str, Fault]) -> bool:
        """Run the faults that act before the real app; True when one answered instead."""
        if "delay" in kinds:
            await asyncio.sleep(kinds["delay"].number())
        if "expire" in kinds and self.issuer is not None:
            self.issuer.expire_all()  # the app itself answers the now expired token with 401
        if "429" in kinds:
            retry_after = kinds["429"].arg or "1"
            body = error_body(self.system, 429, "Too many requests: slow down")
            await _send_json(send, 429, body, {"retry-after": retry_after})
            return True
        for code in _SERVER_ERRORS:
            if code in kinds:
                body = error_body(self.system, int(code), f"Injected HTTP {code}")
                await _send_json(send, int(code), body)
                return True
        return False

    def _rewritten(
        self, body: bytes, number: int, kinds: dict[str, Fault], firing: list[Fault]
    ) -> bytes:
        """The page ``body`` with the body faults of this request applied (the plan notes
        the page as served first)."""
        plan, system = self.plan, self.system
        page = orjson.loads(body)
        records = records_of(system, page)
        previous = plan.last_page(system)
        if records is not None:
            plan.saw_page(system, records)
        if records is None or not (BODY_KINDS & set(kinds)):
            return body
        shuffler = plan.rng(system, number, "shuffle")
        rewrite_page(system, page, records, previous, firing, shuffler, plan.rewritten)
        return orjson.dumps(page)


async def halved_rpc_limit(receive: Receive) -> Receive:
    """A ``receive`` whose JSON-RPC ``execute_kw`` asks for half the ``limit`` it asked for."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    try:
        call = orjson.loads(body)
        named = call["params"]["args"][6]
        named["limit"] = max(1, int(named.get("limit") or wms.MAX_LIMIT) // 2)
        body = orjson.dumps(call)
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        pass  # not a search_read: passed on as it came

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def halved_page_size(system: str, scope: Scope) -> Scope:
    """``scope`` asking for half the page size it asked for (at least one record): the
    server caps the page, as an API may, so fewer records come than were asked and more
    follow. The CRM's size is the ``batchSize`` of its ``Sforce-Query-Options`` header."""
    option, default = PAGE_SIZE_OPTION[system]
    if system == "crm":
        asked, headers = default, []
        for name, value in scope.get("headers", []):
            found = _BATCH_SIZE.search(value.decode()) if name.lower() == option.encode() else None
            if found is None:
                headers.append((name, value))
            else:
                asked = int(found[1])
        headers.append((option.encode(), f"batchSize={max(1, asked // 2)}".encode()))
        return {**scope, "headers": headers}
    params = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
    asked = next((int(v) for k, v in params if k == option and v.isdigit()), default)
    kept = [(k, v) for k, v in params if k != option] + [(option, str(max(1, asked // 2)))]
    return {**scope, "query_string": urlencode(kept).encode()}


async def _capture(app: App, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    """Run ``app`` and collect its whole answer."""
    status = 500
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"content-length"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return status, headers, b"".join(chunks)


async def _send_cut(send: Send, headers: list[Any], body: bytes) -> None:
    """The headers (announcing all of ``body``) and half of ``body``, and no end."""
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": 200, "headers": [*headers, length]})
    half = {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
    await send(half)


async def _send_raw(send: Send, status: int, headers: list[Any], body: bytes) -> None:
    headers = [h for h in headers if h[0].lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(
    send: Send, status: int, body: Any, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await _send_raw(send, status, headers, orjson.dumps(body))
