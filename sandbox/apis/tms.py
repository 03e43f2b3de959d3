"""The TMS: EasyPost ``Tracker`` list and deletion (docs/sources.md "tms"; the documents
followed are cited in sandbox/README.md).

``GET /v2/trackers`` with HTTP Basic (the API key as user name, an empty password) lists
trackers newest first, by ``created_at`` then id, ``page_size`` (≤ 100, default 20) at a
time, ``{"trackers": [...], "has_more": bool}``. ``before_id`` asks for the trackers listed
after that one (older: how EasyPost's client libraries page), ``after_id`` for those listed
before it (newer); ``start_datetime`` (inclusive) / ``end_datetime`` (exclusive) bound
``created_at``; ``carrier`` and ``tracking_code`` filter. A tracker's place in the list never
changes when it is updated, so paging by ``before_id`` cannot skip one that changes
mid-walk. ``GET /v2/trackers/<id>`` retrieves one tracker (404 when there is none: what the
key reconciliation confirms a deletion with). ``DELETE /v2/trackers/<id>`` deletes a
tracker (``{"success": true}``); a deleted tracker's place stays known, so a client paging
from it goes on.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.apis.common import (
    BadParameter,
    basic_user_ok,
    instant_param,
    int_param,
    optional,
    reply,
)
from sandbox.store import SandboxStore

PATH = "/v2/trackers"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_PARAMETERS = frozenset(
    {"page_size", "before_id", "after_id", "start_datetime", "end_datetime", "carrier",
     "tracking_code"}
)  # fmt: skip
_UNAUTHORIZED = {
    "error": {
        "code": "APIKEY.INACTIVE",
        "message": (
            "This api key is no longer active. "
            "Please use a different api key or reactivate this key."
        ),
    }
}
#: A tracker's place in the list: (created_at, id), the list running from the largest.
Place = tuple[str, str]


def _error(code: str, message: str, status: int, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "errors": []}}
    if field is not None:
        body["error"]["errors"] = [{"field": field, "message": message}]
    return reply(body, status)


class CreationOrder:
    """The places (created_at, id) of the store's trackers, sorted, rebuilt when the store
    changes; the places of deleted trackers are remembered. A page's trackers are read from
    the store as it is served (:meth:`tracker`), so the view holds two strings a tracker,
    not every tracker built (300 MiB less at 100k orders). A tracker not built yet gives its
    place without being built (:func:`sandbox.trackers.tms_head`): the view of 18,126
    trackers took 0.32 s built and takes 0.07 s, a wait of the first page of a read."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._version = -1
        self._places: list[Place] = []
        self.known: dict[str, Place] = {}

    def view(self) -> list[Place]:
        with self._lock:
            version = self.store.version("tms")
            if version != self._version:
                self._places = sorted(
                    (r["created_at"], r["id"]) for r in self.store.iter_heads("tms")
                )
                self.known.update({place[1]: place for place in self._places})
                self._version = version
            return self._places

    def tracker(self, place: Place) -> dict[str, Any] | None:
        """The tracker at ``place`` as the store holds it now (None: deleted since)."""
        return self.store.get("tms", place[1])


def _page(order: CreationOrder, request: Request, size: int) -> tuple[list[dict[str, Any]], bool]:
    """The page asked for, newest first, and whether more follow it in that direction."""
    places = order.view()
    low = instant_param(optional(request, "start_datetime"), "start_datetime")
    high = instant_param(optional(request, "end_datetime"), "end_datetime")
    first = bisect_left(places, (low,)) if low else 0
    last = bisect_left(places, (high,)) if high else len(places)
    before, after = optional(request, "before_id"), optional(request, "after_id")
    for name, value in (("before_id", before), ("after_id", after)):
        if value is not None and value not in order.known:
            raise BadParameter(name, f"no tracker {value!r}")
    if before is not None:
        last = min(last, bisect_left(places, order.known[before]))
    if after is not None:
        first = max(first, bisect_right(places, order.known[after]))
    carrier, code = optional(request, "carrier"), optional(request, "tracking_code")
    # before_id (or neither) walks down from the newest; after_id alone climbs from it
    climbed = after is not None and before is None
    walk = range(first, last) if climbed else reversed(range(first, last))
    chosen: list[dict[str, Any]] = []
    filtered = carrier is not None or code is not None
    for i in walk:
        record = order.tracker(places[i])
        if record is not None and (not filtered or _fits(record, carrier, code)):
            if len(chosen) == size:
                return chosen[::-1] if climbed else chosen, True
            chosen.append(record)
    return chosen[::-1] if climbed else chosen, False


def _fits(record: dict[str, Any], carrier: str | None, code: str | None) -> bool:
    return (carrier is None or record.get("carrier") == carrier) and (
        code is None or record.get("tracking_code") == code
    )


def create_app(store: SandboxStore, api_key: str) -> Starlette:
    """The TMS app, accepting HTTP Basic ``<api_key>:`` (empty password)."""
    order = CreationOrder(store)

    async def trackers(request: Request) -> JSONResponse:
        if not basic_user_ok(request, api_key):
            return reply(_UNAUTHORIZED, 401)
        try:
            unknown = sorted(set(request.query_params) - _PARAMETERS)
            if unknown:
                raise BadParameter(unknown[0], "unknown parameter")
            size = int_param(
                optional(request, "page_size"),
                "page_size",
                default=DEFAULT_PAGE_SIZE,
                low=1,
                high=MAX_PAGE_SIZE,
            )
            page, more = _page(order, request, size)
        except BadParameter as problem:
            return _error("PARAMETER.INVALID", f"Invalid parameter {problem}", 400, problem.name)
        return reply({"trackers": page, "has_more": more})

    async def retrieve(request: Request) -> JSONResponse:
        if not basic_user_ok(request, api_key):
            return reply(_UNAUTHORIZED, 401)
        record = store.get("tms", request.path_params["tracker_id"])
        if record is None:
            return _error("NOT_FOUND", "The requested resource could not be found.", 404)
        return reply(record)

    async def delete(request: Request) -> JSONResponse:
        if not basic_user_ok(request, api_key):
            return reply(_UNAUTHORIZED, 401)
        order.view()  # the place of the tracker stays known after it is gone
        if not store.delete("tms", request.path_params["tracker_id"]):
            return _error("NOT_FOUND", "The requested resource could not be found.", 404)
        return reply({"success": True})

    return Starlette(
        routes=[
            Route(PATH, trackers, methods=["GET"]),
            Route(PATH + "/{tracker_id}", retrieve, methods=["GET"]),
            Route(PATH + "/{tracker_id}", delete, methods=["DELETE"]),
        ]
    )
