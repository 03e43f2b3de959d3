"""The dispatcher's POST: a change signed per Standard Webhooks, sent over HTTP/1.1
connections kept alive per subscriber - reused while the subscriber keeps them, replaced
when it closed one meanwhile, and a refusal or an unreachable subscriber reported as the
delivery's error."""

from __future__ import annotations

import asyncio
import json

from standardwebhooks import Webhook

from orderhub.live.webhook_post import Poster, post
from orderhub.warehouse import free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Subscriber:
    """A minimal HTTP/1.1 subscriber: answers ``status`` (keep-alive, content-length),
    counts connections, keeps each request's headers and body; with ``close_after`` it
    closes the connection after answering, without saying so (as an idle timeout does)."""

    def __init__(self, status: int = 200, close_after: bool = False) -> None:
        self.status, self.close_after = status, close_after
        self.connections = 0
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                lines = head.split("\r\n")[1:]
                headers = {
                    k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((headers, body))
                writer.write(f"HTTP/1.1 {self.status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
                if self.close_after:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()


async def _serve(subscriber: Subscriber) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(subscriber.handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook?x=1"


def test_changes_go_signed_over_one_kept_connection() -> None:
    async def run() -> tuple[Subscriber, list[str | None]]:
        subscriber = Subscriber()
        server, url = await _serve(subscriber)
        poster = Poster()
        errors = [(await post(poster, url, SECRET, n, f'{{"n": {n}}}'))[1] for n in (1, 2, 3)]
        await poster.aclose()
        server.close()
        return subscriber, errors

    subscriber, errors = asyncio.run(run())
    assert errors == [None, None, None]
    assert subscriber.connections == 1
    for n, (headers, body) in enumerate(subscriber.requests, start=1):
        assert headers["webhook-id"] == f"msg_{n}"
        assert json.loads(body) == {"n": n}
        Webhook(SECRET).verify(body, headers)  # raises on a bad signature


def test_a_connection_the_subscriber_closed_is_replaced() -> None:
    async def run() -> tuple[Subscriber, list[str | None]]:
        subscriber = Subscriber(close_after=True)
        server, url = await _serve(subscriber)
        poster = Poster()
        errors = []
        for n in range(1, 7):
            errors.append((await post(poster, url, SECRET, n, {"n": n}))[1])
            # the close reaches the kept connection before the next POST, or not yet
            await asyncio.sleep(0.05 if n % 2 else 0)
        await poster.aclose()
        server.close()
        return subscriber, errors

    subscriber, errors = asyncio.run(run())
    assert errors == [None] * 6
    assert [h["webhook-id"] for h, _ in subscriber.requests] == [f"msg_{n}" for n in range(1, 7)]
    assert subscriber.connections == 6


def test_a_refusal_and_an_unreachable_subscriber_are_errors() -> None:
    async def run() -> tuple[str | None, str | None]:
        server, url = await _serve(Subscriber(status=500))
        poster = Poster()
        refused = (await post(poster, url, SECRET, 1, {}))[1]
        unreachable = (await post(poster, f"http://127.0.0.1:{free_port()}/", SECRET, 2, {}))[1]
        await poster.aclose()
        server.close()
        return refused, unreachable

    refused, unreachable = asyncio.run(run())
    assert refused == "HTTP 500"
    assert unreachable is not None and "Error" in unreachable


def test_the_host_header_names_the_host_and_a_bad_url_is_an_error() -> None:
    async def run() -> tuple[Subscriber, list[str | None]]:
        subscriber = Subscriber()
        server, url = await _serve(subscriber)
        poster = Poster()
        with_user = url.replace("http://", "http://someone:secret@")
        errors = [
            (await post(poster, with_user, SECRET, 1, {}))[1],
            (await post(poster, "ftp://127.0.0.1/hook", SECRET, 2, {}))[1],
            (await post(poster, "http://127.0.0.1:99999/hook", SECRET, 3, {}))[1],
        ]
        await poster.aclose()
        server.close()
        return subscriber, errors

    subscriber, errors = asyncio.run(run())
    ((headers, _),) = subscriber.requests
    port = int(headers["host"].rsplit(":", 1)[1])
    assert headers["host"] == f"127.0.0.1:{port}"  # no user info
    assert errors[0] is None
    assert errors[1] is not None and errors[1].startswith("ValueError: not an http(s) URL")
    assert errors[2] is not None and errors[2].startswith("ValueError")
