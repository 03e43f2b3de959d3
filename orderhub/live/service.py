"""``orderhub serve``: the live service - receivers, hot-path workers and the supervisor of
the dispatcher's process (:mod:`.dispatch_process`).

:func:`build_app` is the Starlette app: ``POST /webhooks/<system>`` for each source system
(401 and a counter on a bad signature; 429 with ``Retry-After`` when the intake queue is
full; 200 once stored, quarantined or recognised as a redelivery; 503 when storing failed),
``GET /health`` and ``GET /metrics`` (the counters, as JSON). :class:`LiveService` starts the
workers and uvicorn as threads; SIGTERM or SIGINT stops uvicorn, which finishes its open
requests (at most 5 s), then the workers (the intake stores what it accepted) - within 10 s.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orderhub.live.intake import Intake, Item
from orderhub.live.receivers import read_push
from orderhub.live.signatures import verify
from orderhub.sources import API_SYSTEMS

LOGGER = logging.getLogger("orderhub.live")
#: Seconds a flooded sender is asked to wait.
RETRY_AFTER = 1


def build_app(
    intake: Intake, secrets: dict[str, str], counters: dict[str, Any] | None = None
) -> Starlette:
    """The receivers (``secrets``: each system's webhook secret) and the service's status."""
    counters = counters if counters is not None else {}
    rejected: dict[str, int] = {system: 0 for system in API_SYSTEMS}
    counters["rejected_signatures"] = rejected
    counters["intake"] = intake.counters
    throttled = {"count": 0}
    counters["throttled"] = throttled

    async def receive(request: Request) -> JSONResponse:
        system = request.path_params["system"]
        if system not in API_SYSTEMS:
            return JSONResponse({"error": f"no receiver for {system!r}"}, 404)
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        if not verify(system, secrets[system], headers, body):
            rejected[system] += 1
            return JSONResponse({"error": "bad signature"}, 401)
        item = Item(system, read_push(system, headers, body))
        if not intake.submit(item):
            throttled["count"] += 1
            return JSONResponse(
                {"error": "too many pushes"}, 429, headers={"Retry-After": str(RETRY_AFTER)}
            )
        try:
            await asyncio.wrap_future(item.done)
        except Exception:
            return JSONResponse({"error": "not stored, push again"}, 503)
        return JSONResponse({"event_id": item.pushed.event_id, "stored": True})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def metrics(request: Request) -> JSONResponse:
        return JSONResponse(counters)

    return Starlette(
        routes=[
            Route("/webhooks/{system}", receive, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


class LiveService:
    """The app on uvicorn and its worker threads (each a ``run(stop)`` callable)."""

    def __init__(
        self,
        app: Starlette,
        workers: dict[str, Callable[[threading.Event], None]],
        host: str,
        port: int,
    ) -> None:
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=run, args=(self.stop_event,), name=f"orderhub-{name}")
            for name, run in workers.items()
        ]
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (SIGTERM or SIGINT: :class:`orderhub.processes.
        StopSignals`), then stop uvicorn (its open requests get 5 s) and the workers."""
        for thread in self.threads:
            thread.start()
        server = threading.Thread(target=self.server.run, name="orderhub-live-http")
        server.start()
        try:
            while not stop.wait(0.2) and server.is_alive():
                pass
        finally:
            self.server.should_exit = True
            server.join(timeout=6)
            self.stop_event.set()
            for thread in self.threads:
                thread.join(timeout=3)
