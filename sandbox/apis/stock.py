"""The WMS's stock and the write-back endpoints, added beside the WMS and TMS apps.

WMS (``Authorization: Bearer <the Odoo user's API key>``; the stock itself, ``stock.quant`` and
``stock.warehouse``, is Odoo's JSON-RPC, :mod:`sandbox.apis.wms`):

- ``POST /api/v1/stock.picking/replenishment`` with an ``Idempotency-Key`` header and
  ``{"warehouse", "product", "quantity", "scheduled_date", "origin"}``: an incoming
  ``stock.picking`` from the vendors' location into the warehouse's stock (201; the same key
  and body again: 200 and the same picking; the same key with another body: 409);
  ``GET`` lists them. Odoo has no such route (a real tenant would be written with
  ``execute_kw(..., "stock.picking", "create", ...)``): sandbox/README.md "Not done".

TMS (HTTP Basic with its API key): ``POST /v2/capacity_reservations`` with an
``Idempotency-Key`` and ``{"carrier", "warehouse", "date", "parcels"}``, the same rules;
``GET`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from sandbox.apis.common import (
    BadParameter,
    basic_user_ok,
    instant_param,
    int_param,
    optional,
    reply,
    same_secret,
)
from sandbox.apis.oauth import bearer_token
from sandbox.stock import VENDORS_LOCATION, IdempotencyConflict, StockBook, site_by_code

MAX_LIMIT, DEFAULT_LIMIT = 500, 100
_PARAMETERS = frozenset({"updated_since", "limit", "cursor"})
Check = Callable[[Request], bool]


def _page(request: Request, rows: list[dict[str, Any]]) -> JSONResponse:
    try:
        unknown = sorted(set(request.query_params) - _PARAMETERS)
        if unknown:
            raise BadParameter(unknown[0], "unknown parameter")
        since = instant_param(optional(request, "updated_since"), "updated_since")
        limit = int_param(
            optional(request, "limit"), "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT
        )
        start = int_param(optional(request, "cursor"), "cursor", default=0, low=0, high=None)
    except BadParameter as problem:
        return reply({"error": str(problem)}, 400)
    rows = sorted(rows, key=lambda r: (r["write_date"], r["id"]))
    if since is not None:
        rows = [r for r in rows if r["write_date"] >= since]
    data = rows[start : start + limit]
    more = start + limit < len(rows)
    return reply({"data": data, "next_cursor": str(start + limit) if more else None})


def _lister(check: Check, rows: Callable[[], list[dict[str, Any]]]) -> Callable[..., Any]:
    async def endpoint(request: Request) -> JSONResponse:
        if not check(request):
            return reply({"error": "invalid credentials"}, 401)
        return _page(request, rows())

    return endpoint


def _creator(
    check: Check, book: StockBook, kind: str, build: Callable[[dict[str, Any], int], dict[str, Any]]
) -> Callable[..., Any]:
    async def endpoint(request: Request) -> JSONResponse:
        if not check(request):
            return reply({"error": "invalid credentials"}, 401)
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            return reply({"error": "Idempotency-Key header required"}, 400)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            build(body, 0)  # validate before anything is recorded
            record, new = book.create(kind, key, body, lambda number: build(body, number))
        except IdempotencyConflict:
            return reply({"error": f"Idempotency-Key {key} was used with another body"}, 409)
        except (ValueError, KeyError, TypeError) as problem:
            return reply({"error": f"bad request: {problem}"}, 400)
        return reply({**record, "replayed": not new}, 201 if new else 200)

    return endpoint


def replenishment_picking(body: dict[str, Any], number: int) -> dict[str, Any]:
    """The incoming picking a replenishment request creates (``number``: its sequence)."""
    site = site_by_code(str(body["warehouse"]))
    quantity = float(body["quantity"])
    if site is None or quantity <= 0 or not str(body.get("product", "")).startswith("SKU-"):
        raise ValueError("warehouse, product and a positive quantity are required")
    return {
        "id": 900_000 + number,
        "name": f"{site.code}/IN/{number:05d}",
        "origin": str(body.get("origin") or ""),
        "picking_type_code": "incoming",
        "state": "assigned",
        "location_id": list(VENDORS_LOCATION),
        "location_dest_id": [site.stock_location, f"{site.code}/Stock"],
        "warehouse": site.code,
        "scheduled_date": str(body["scheduled_date"]),
        "write_date": str(body["scheduled_date"]),
        "move_ids": [{"product": str(body["product"]), "quantity": quantity}],
    }


def capacity_reservation(body: dict[str, Any], number: int) -> dict[str, Any]:
    """The carrier capacity reservation a request creates."""
    parcels = int(body["parcels"])
    if parcels <= 0 or site_by_code(str(body["warehouse"])) is None:
        raise ValueError("a known warehouse and a positive number of parcels are required")
    return {
        "id": f"cap_{number:06d}",
        "object": "CapacityReservation",
        "carrier": str(body["carrier"]),
        "warehouse": str(body["warehouse"]),
        "date": str(body["date"]),
        "parcels": parcels,
        "status": "confirmed",
    }


def with_wms_stock(app: ASGIApp, book: StockBook, api_key: str) -> Starlette:
    """``app`` (the WMS) with the replenishment routes in front of it."""

    def check(request: Request) -> bool:
        return same_secret(bearer_token(request), api_key)

    path = "/api/v1/stock.picking/replenishment"
    return Starlette(
        routes=[
            Route(path, _lister(check, lambda: book.created("transfers")), methods=["GET"]),
            Route(
                path, _creator(check, book, "transfers", replenishment_picking), methods=["POST"]
            ),
            Mount("", app=app),
        ]
    )


def with_tms_capacity(app: ASGIApp, book: StockBook, api_key: str) -> Starlette:
    """``app`` (the TMS) with the capacity reservation routes in front of it."""

    def check(request: Request) -> bool:
        return basic_user_ok(request, api_key)

    path = "/v2/capacity_reservations"

    def listed() -> list[dict[str, Any]]:
        return [{**r, "write_date": r["date"] + "T00:00:00Z"} for r in book.created("capacity")]

    return Starlette(
        routes=[
            Route(path, _lister(check, listed), methods=["GET"]),
            Route(path, _creator(check, book, "capacity", capacity_reservation), methods=["POST"]),
            Mount("", app=app),
        ]
    )
