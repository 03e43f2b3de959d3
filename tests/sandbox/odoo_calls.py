"""Test helper: calls to the WMS's Odoo JSON-RPC endpoint, as a client of Odoo's external
API makes them."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.apis.wms import DATABASE, UID


def rpc(http: httpx.Client, base_url: str, service: str, method: str, *args: Any) -> httpx.Response:
    """``POST <base_url>/jsonrpc`` calling ``service.method(*args)``."""
    call = {"jsonrpc": "2.0", "method": "call", "id": 7}
    call["params"] = {"service": service, "method": method, "args": list(args)}
    return http.post(base_url + "/jsonrpc", json=call)


def search_read(
    http: httpx.Client,
    base_url: str,
    api_key: str,
    domain: list[Any],
    model: str = "stock.picking",
    **options: Any,
) -> httpx.Response:
    """``<model>.search_read(domain, **options)`` as the sandbox's user 2."""
    options.setdefault("order", "write_date asc, id asc")
    args = [DATABASE, UID, api_key, model, "search_read", [domain], options]
    return rpc(http, base_url, "object", "execute_kw", *args)


def after(record: dict[str, Any]) -> list[Any]:
    """The keyset domain of what sorts after ``record`` by (write_date, id)."""
    at = record["write_date"]
    return ["|", ["write_date", ">", at], "&", ["write_date", "=", at], ["id", ">", record["id"]]]
