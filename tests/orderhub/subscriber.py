"""A local webhook subscriber for the live-path tests and the bench: verifies each delivery's
Standard Webhooks signature, dedupes on webhook-id, records what it received and when;
``failing`` answers 500 to everything, ``refuse`` to the changes of the orders it names."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import orjson
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Subscriber:
    """Serves ``POST /hook`` on a free port in a background thread."""

    def __init__(
        self,
        secret: str | None = None,
        failing: bool = False,
        port: int = 0,
        refuse: frozenset[str] = frozenset(),
    ) -> None:
        self.secret = secret
        self.failing = failing
        self.refuse = refuse
        self.received: list[tuple[str, dict[str, Any], float]] = []  # id, payload, when
        self.seen: set[str] = set()
        self.duplicates = 0
        self.bad_signatures = 0
        self.attempts = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    async def _hook(self, request: Request) -> Response:
        self.attempts += 1
        if self.failing:
            return Response(status_code=500)
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            Webhook(self.secret or "").verify(body, headers)
        except Exception:
            self.bad_signatures += 1
            return Response(status_code=400)
        msg_id = headers["webhook-id"]
        payload = orjson.loads(body)
        if payload.get("order_id") in self.refuse:
            return Response(status_code=500)
        if msg_id in self.seen:
            self.duplicates += 1
        else:
            self.seen.add(msg_id)
            self.received.append((msg_id, payload, time.time()))
        return Response(status_code=204)

    def again(self) -> Subscriber:
        """A new server on this one's port (after :meth:`stop`), keeping what it received."""
        port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        fresh = Subscriber(self.secret, self.failing, port, self.refuse)
        fresh.received, fresh.seen = self.received, self.seen
        fresh.duplicates, fresh.attempts = self.duplicates, self.attempts
        return fresh

    def start(self) -> Subscriber:
        self._thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
