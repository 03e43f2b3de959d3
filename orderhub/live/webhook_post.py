"""One change POSTed to a subscriber, signed per Standard Webhooks, through a bounded pool.

:func:`post` sends an outbox row's payload with ``webhook-id`` (``msg_`` and the change's
cursor: the same on every retry), ``webhook-timestamp`` and ``webhook-signature`` (the
``standardwebhooks`` package, under the subscription's ``whsec_`` secret). The dispatcher's
client goes through :class:`Gated`: at most :data:`POSTS_AT_ONCE` requests in httpx at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

#: Seconds a subscriber has to answer.
TIMEOUT = 5.0


#: POSTs in flight at once, and connections kept, per dispatcher process. Without a bound
#: every order of every running job posted at once (16 orders a job, a job per shard), and
#: httpcore's pool (100 connections) checked each connection and each queued request on
#: every request and response (docs/live.md, "The dispatcher"). At 16 a shard's job took
#: longer and the next waited for it (outbox → job p50 6.6 → 12.6 s at 200/s).
POSTS_AT_ONCE = 64


class Gated(httpx.AsyncBaseTransport):
    """httpx's transport with at most ``at_once`` requests in it; the rest wait outside."""

    def __init__(self, at_once: int) -> None:
        limits = httpx.Limits(max_connections=at_once, max_keepalive_connections=at_once)
        self.inner = httpx.AsyncHTTPTransport(limits=limits)
        self.gate = asyncio.Semaphore(at_once)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self.gate:
            return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def post(
    client: httpx.AsyncClient, url: str, secret: str, change_id: int, payload: Any
) -> tuple[datetime, str | None]:
    """POST one change, signed; when it was sent, and the error (None: delivered)."""
    body = orjson.dumps(payload)
    now = datetime.now(UTC)
    msg_id = f"msg_{change_id}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    try:
        answer = await client.post(url, content=body, headers=headers, timeout=TIMEOUT)
        return now, None if answer.is_success else f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:
        return now, f"{type(exc).__name__}: {exc}"
