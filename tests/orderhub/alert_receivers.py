"""Where the cases tests and the bench receive alerts, for real: a local SMTP server
(aiosmtpd) and a local webhook receiver (apprise's ``json://`` posts), each recording what
arrived and when."""

from __future__ import annotations

import email
import socket
import threading
import time
from email.header import decode_header, make_header
from typing import Any

import orjson
import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.warehouse import free_port


class Mailbox:
    """An SMTP server on a free local port; :attr:`mails` are (recipients, subject, when),
    :attr:`bodies` the text of each, in the same order."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str, float]] = []
        self.bodies: list[str] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        subject = str(make_header(decode_header(message.get("Subject", ""))))
        text = next(
            (
                str(part.get_payload(decode=True).decode(errors="replace"))
                for part in message.walk()
                if part.get_content_type() == "text/plain"
            ),
            "",
        )
        self.bodies.append(text)
        self.mails.append((list(envelope.rcpt_tos), subject, time.time()))
        return "250 OK"

    def url(self, to: str) -> str:
        """The apprise URL of this server, for the recipient ``to``."""
        return (
            f"mailto://127.0.0.1:{self.controller.port}"
            f"?from=orderhub@example.com&to={to}&mode=insecure"
        )

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class WebhookReceiver:
    """An HTTP server on a free local port; :attr:`posts` are (json body, when)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, Any], float]] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        app = Starlette(routes=[Route("/alerts", self._post, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    async def _post(self, request: Request) -> Response:
        self.posts.append((orjson.loads(await request.body()), time.time()))
        return Response(status_code=200)

    @property
    def url(self) -> str:
        """The apprise URL posting JSON here."""
        return f"json://127.0.0.1:{self.port}/alerts"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
