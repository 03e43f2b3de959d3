"""One change POSTed to a subscriber, signed per Standard Webhooks.

:func:`post` sends an outbox row's payload with ``webhook-id`` (``msg_`` and the change's
cursor: the same on every retry), ``webhook-timestamp`` and ``webhook-signature`` (the
``standardwebhooks`` package, under the subscription's ``whsec_`` secret). A bound on the
POSTs in flight (a semaphore before httpx's pool) was measured and taken back
(docs/live.md, "The dispatcher").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

#: Seconds a subscriber has to answer.
TIMEOUT = 5.0


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
