"""A tiny local stand-in for the four source APIs of docs/sources.md, with fault injection.

The real sandbox (``orderhub.sandbox``) is what the sync tests run against; this stub exists
for the faults the sandbox has no switch for: a page without its records key, a malformed
body, 429 with ``Retry-After``, 5xx, 401 mid-sync. It serves whatever records it is given,
filtered, sorted and paged the way each API does it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

CURSOR = {
    "erp": "LastChangeDateTime",
    "crm": "LastModifiedDate",
    "wms": "write_date",
    "tms": "updated_at",
}
KEY = {"erp": "SalesOrder", "crm": "Id", "wms": "id", "tms": "id"}


@dataclass(frozen=True)
class Canned:
    """A response served instead of the real one (status 0: drop the connection unanswered)."""

    status: int
    body: bytes | str | Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class FakeApis:
    """One threaded HTTP server on 127.0.0.1 serving ``/<system>/...`` like the sandbox."""

    records: Mapping[str, Sequence[Mapping[str, Any]]]
    credentials: Mapping[str, str]
    #: system -> {1-based request number -> canned response served for that request}
    script: dict[str, dict[int, Canned]] = field(default_factory=dict)
    requests: dict[str, list[str]] = field(default_factory=dict)
    #: system -> monotonic arrival time of each request
    arrivals: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeApis:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def base_url(self, system: str) -> str:
        return f"http://127.0.0.1:{self.port}/{system}"

    def _count(self, system: str, url: str) -> int:
        with self._lock:
            log = self.requests.setdefault(system, [])
            log.append(url)
            self.arrivals.setdefault(system, []).append(time.monotonic())
            return len(log)

    def _sorted(self, system: str, since: str | None) -> list[Mapping[str, Any]]:
        cursor, key = CURSOR[system], KEY[system]
        rows = [r for r in self.records.get(system, []) if since is None or r[cursor] >= since]
        return sorted(rows, key=lambda r: (r[cursor], str(r[key])))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, canned: Canned) -> None:
                if canned.status == 0:
                    self.close_connection = True
                    return
                payload = canned.payload()
                self.send_response(canned.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                system = parts.path.strip("/").split("/", 1)[0]
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                number = apis._count(system, self.path)
                canned = apis.script.get(system, {}).get(number)
                if canned is not None:
                    self._send(canned)
                    return
                route = getattr(self, f"_{system}", None)
                if route is None:
                    self._send(Canned(404, {"error": "no such system"}))
                    return
                self._send(route(parts.path, query))

            def _authorized(self, system: str) -> bool:
                secret = apis.credentials[system]
                if system == "erp":
                    return self.headers.get("APIKey") == secret
                if system in ("crm", "wms"):
                    return self.headers.get("Authorization") == f"Bearer {secret}"
                token = base64.b64encode(f"{secret}:".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {token}"

            def _erp(self, path: str, query: dict[str, str]) -> Canned:
                if not self._authorized("erp"):
                    message = {"lang": "en", "value": "invalid API key"}
                    return Canned(401, {"error": {"code": "401", "message": message}})
                since = None
                flt = query.get("$filter", "")
                if "datetimeoffset'" in flt:
                    since = flt.split("datetimeoffset'", 1)[1].rstrip("'")
                rows = apis._sorted("erp", since)
                top, skip = int(query.get("$top", 100)), int(query.get("$skip", 0))
                page = rows[skip : skip + top]
                body: dict[str, Any] = {"results": page}
                if skip + top < len(rows):
                    nxt = dict(query, **{"$skip": str(skip + top)})
                    qs = "&".join(f"{k}={quote(v)}" for k, v in nxt.items())
                    body["__next"] = f"{apis.base_url('erp')}{path.removeprefix('/erp')}?{qs}"
                return Canned(200, {"d": body})

            def _crm(self, path: str, query: dict[str, str]) -> Canned:
                if not self._authorized("crm"):
                    err = {
                        "errorCode": "INVALID_SESSION_ID",
                        "message": "Session expired or invalid",
                    }
                    return Canned(401, [err])
                size = 200
                option = self.headers.get("Sforce-Query-Options", "")
                if option.startswith("batchSize="):
                    size = int(option.split("=", 1)[1])
                if "/query/" in path:
                    since_part, offset = path.rsplit("/", 1)[1].rsplit("-", 1)
                    since = None if since_part == "all" else since_part
                    start = int(offset)
                else:
                    soql = query.get("q", "")
                    if "FROM FulfillmentOrder" not in soql:
                        err = {"errorCode": "MALFORMED_QUERY", "message": "bad query"}
                        return Canned(400, [err])
                    since = None
                    if "LastModifiedDate >= " in soql:
                        since = soql.split("LastModifiedDate >= ", 1)[1].split()[0]
                    start = 0
                rows = apis._sorted("crm", since)
                page = rows[start : start + size]
                done = start + size >= len(rows)
                body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
                if not done:
                    locator = since or "all"
                    body["nextRecordsUrl"] = (
                        f"/crm/services/data/v60.0/query/{locator}-{start + size}"
                    )
                return Canned(200, body)

            def _wms(self, path: str, query: dict[str, str]) -> Canned:
                if not self._authorized("wms"):
                    return Canned(401, {"error": "invalid token"})
                rows = apis._sorted("wms", query.get("updated_since"))
                limit, start = int(query.get("limit", 100)), int(query.get("cursor", "0") or 0)
                page = rows[start : start + limit]
                nxt = str(start + limit) if start + limit < len(rows) else None
                return Canned(200, {"data": page, "next_cursor": nxt})

            def _tms(self, path: str, query: dict[str, str]) -> Canned:
                if not self._authorized("tms"):
                    err = {"code": "APIKEY.INACTIVE", "message": "This api key is no longer active"}
                    return Canned(401, {"error": err})
                rows = apis._sorted("tms", query.get("updated_at_min"))
                after = query.get("after_id")
                if after:
                    ids = [r["id"] for r in rows]
                    rows = rows[ids.index(after) + 1 :]
                size = int(query.get("page_size", 20))
                return Canned(200, {"trackers": rows[:size], "has_more": len(rows) > size})

        return Handler
