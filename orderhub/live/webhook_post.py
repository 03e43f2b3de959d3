"""One change POSTed to a subscriber, signed per Standard Webhooks, over kept connections.

:func:`post` sends an outbox row's payload with ``webhook-id`` (``msg_`` and the change's
cursor: the same on every retry), ``webhook-timestamp`` and ``webhook-signature`` (the
``standardwebhooks`` package, under the subscription's ``whsec_`` secret). The payload
comes as the outbox's JSON text (sent as it is, not parsed and dumped again), and a
secret's signer is made once.

:class:`Poster` is the dispatcher's HTTP/1.1 client: ``h11`` over asyncio streams (TLS for
``https``), connections kept alive per subscriber (scheme, host, port) and reused, at most
:data:`CONNECTIONS` open to one subscriber. It replaced ``httpx``, whose POSTs were half
of the dispatcher's samples and whose pool checked every kept connection on every request
(docs/live.md, "The subscribers' side": ~1.6 ms of CPU a POST against ~0.1 ms). A bound on
the POSTs in flight below that (a semaphore of 16) was measured and taken back
(docs/live.md, "The dispatcher"). Subscribers are reached directly: no HTTP proxy is used
(``HTTP_PROXY``/``HTTPS_PROXY`` are not read, as httpx read them); no redirect is followed.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import h11
import orjson
from standardwebhooks import Webhook

#: Seconds a subscriber has to answer (connecting included).
TIMEOUT = 5.0
#: Connections open to one subscriber at most (httpx's default bound, 100).
CONNECTIONS = 100
_Origin = tuple[str, str, int]


class _Connection:
    """One HTTP/1.1 connection: its streams and h11's state."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    async def request(self, request: h11.Request, body: bytes) -> int:
        """Send one request; the response's status once it is read to its end."""
        send = self.h11.send
        self.writer.write(send(request) + send(h11.Data(data=body)) + send(h11.EndOfMessage()))
        await self.writer.drain()
        status = 0
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                return status
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the subscriber closed the connection")

    def reusable(self) -> bool:
        """Whether the exchange ended cleanly and the connection may carry the next."""
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return not self.reader.at_eof()
        return False

    def close(self) -> None:
        self.writer.close()


class Poster:
    """POSTs over HTTP/1.1 connections kept alive per subscriber."""

    def __init__(self) -> None:
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._slots: dict[_Origin, asyncio.Semaphore] = {}
        self._tls = ssl.create_default_context()

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST ``body`` to ``url``; the answer's status (raises on a connection error,
        after :data:`TIMEOUT`, or, ValueError, on a URL that is not http(s)). A kept
        connection the subscriber closed meanwhile is replaced by a new one and the POST
        sent again (the receiver dedupes)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        host = parts.hostname
        origin = (parts.scheme, host, parts.port or (443 if tls else 80))  # a bad port raises
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        named = f"[{host}]" if ":" in host else host  # the Host header: no user info
        request = h11.Request(
            method="POST",
            target=target,
            headers=[
                ("host", named if parts.port is None else f"{named}:{parts.port}"),
                ("content-length", str(len(body))),
                *headers.items(),
            ],
        )
        slots = self._slots.setdefault(origin, asyncio.Semaphore(CONNECTIONS))
        async with slots:
            async with asyncio.timeout(TIMEOUT):
                idle = self._idle.setdefault(origin, [])
                while idle:
                    kept = idle.pop()
                    try:
                        return await self._exchange(origin, kept, request, body)
                    except (ConnectionError, h11.ProtocolError):
                        continue  # closed by the subscriber while kept: another, or a new one
                fresh = _Connection(*await asyncio.open_connection(
                    host, origin[2], ssl=self._tls if tls else None,
                    server_hostname=host if tls else None,
                ))  # fmt: skip
                return await self._exchange(origin, fresh, request, body)

    async def _exchange(
        self, origin: _Origin, connection: _Connection, request: h11.Request, body: bytes
    ) -> int:
        try:
            status = await connection.request(request, body)
        except BaseException:
            connection.close()
            raise
        if connection.reusable():
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
        return status

    async def aclose(self) -> None:
        """Close every kept connection."""
        for idle in self._idle.values():
            while idle:
                idle.pop().close()


@lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    """The Standard Webhooks signer of a ``whsec_`` secret (decoded once)."""
    return Webhook(secret)


async def post(
    client: Poster, url: str, secret: str, change_id: int, payload: str | Any
) -> tuple[datetime, str | None]:
    """POST one change, signed; when it was sent, and the error (None: delivered).
    ``payload`` is JSON text (sent as it is) or a value to serialise."""
    body = payload.encode() if isinstance(payload, str) else orjson.dumps(payload)
    now = datetime.now(UTC)
    msg_id = f"msg_{change_id}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": _signer(secret).sign(msg_id, now, body),
    }
    try:
        status = await client.post(url, headers, body)
        return now, None if 200 <= status < 300 else f"HTTP {status}"
    except (OSError, TimeoutError, h11.ProtocolError, ValueError) as exc:
        return now, f"{type(exc).__name__}: {exc}"  # a bad URL too: the delivery's error
