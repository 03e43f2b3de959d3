"""The dispatcher's POST: a change signed per Standard Webhooks, sent over HTTP/1.1
connections kept alive per subscriber - reused while the subscriber keeps them, replaced
when it closed one meanwhile, and a refusal or an unreachable subscriber reported as the
delivery's error; over TLS, only to a subscriber whose certificate the system trusts for the
URL's host."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
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


def _certificate(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, ca: bool
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(*parts: Any) -> bytes:
    out = b""
    for part in parts:
        if isinstance(part, x509.Certificate):
            out += part.public_bytes(serialization.Encoding.PEM)
        else:
            out += part.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
    return out


def _authority(folder: Path, label: str, host: str) -> tuple[Path, ssl.SSLContext]:
    """A certificate authority (its PEM file) and a server context with a certificate it
    issued for ``host``."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"orderhub test CA {label}")])
    ca = _certificate(f"orderhub test CA {label}", ca_key, ca_name, ca_key, ca=True)
    leaf = _certificate(host, key, ca_name, ca_key, ca=False)
    (folder / f"{label}-ca.pem").write_bytes(_pem(ca))
    (folder / f"{label}-server.pem").write_bytes(_pem(leaf, key))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / f"{label}-server.pem")
    return folder / f"{label}-ca.pem", server


def test_a_subscriber_over_tls_is_verified_before_it_gets_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trust store is the system's (here ``SSL_CERT_FILE``): a subscriber whose
    certificate it trusts for the URL's host gets the change; one it does not, or one
    certified for another host, gets nothing and the delivery says why."""
    trusted_ca, trusted = _authority(tmp_path, "trusted", "localhost")
    _, untrusted = _authority(tmp_path, "untrusted", "localhost")
    other_ca, other_host = _authority(tmp_path, "other", "subscriber.example")
    with open(trusted_ca, "ab") as bundle:  # that CA trusted too: only the name is wrong
        bundle.write(other_ca.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted_ca))

    async def run() -> tuple[list[Subscriber], list[str | None]]:
        subscribers, errors = [], []
        poster = Poster()  # reads the trust store now
        for context in (trusted, untrusted, other_host):
            subscriber = Subscriber()
            server = await asyncio.start_server(subscriber.handle, "127.0.0.1", 0, ssl=context)
            url = f"https://localhost:{server.sockets[0].getsockname()[1]}/hook"
            errors.append((await post(poster, url, SECRET, 7, {"status": "shipped"}))[1])
            subscribers.append(subscriber)
            server.close()
        await poster.aclose()
        return subscribers, errors

    subscribers, errors = asyncio.run(run())
    assert errors[0] is None
    ((headers, body),) = subscribers[0].requests
    Webhook(SECRET).verify(body, headers)
    assert json.loads(body) == {"status": "shipped"}
    assert subscribers[1].requests == [] and subscribers[2].requests == []
    assert errors[1] is not None and "certificate verify failed" in errors[1]
    assert errors[2] is not None and "match" in errors[2]  # Hostname mismatch
