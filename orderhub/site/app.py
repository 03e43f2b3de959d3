"""The tracking site as a Starlette application: its routes, its config, its headers.

:func:`site_routes` is the one list of what the site serves - add a route there (a
``/.well-known/...`` document, a verifier's page) and every server of the site serves it;
:func:`site_config` is what the page reads from ``/config.json`` (add keys there for a
script that needs them). Every response carries a Content-Security-Policy that lets the
page talk to itself and to the API's origin, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.site.audit import AuditSource, audit_routes

STATIC = Path(__file__).resolve().parent / "static"
#: The languages the page speaks (static/i18n.js holds its words in each).
LANGUAGES = ("en", "zh-Hans")


def site_config(api_url: str, audit: AuditSource | None = None) -> dict[str, Any]:
    """What the page reads from ``/config.json`` (``audit``: where the proof section finds
    an order's bundle and the keys, or None when this site serves no bundles)."""
    return {
        "api_url": api_url.rstrip("/"),
        "languages": list(LANGUAGES),
        "audit": audit.page_config() if audit is not None else None,
    }


def content_security_policy(api_url: str) -> str:
    """The page may load its own files and call the API's origin, nothing else."""
    parts = urlsplit(api_url)
    api_origin = f"{parts.scheme}://{parts.netloc}"
    return "; ".join(
        (
            "default-src 'self'",
            f"connect-src 'self' {api_origin}",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def site_routes(api_url: str, audit: AuditSource | None = None) -> list[BaseRoute]:
    """Everything the site serves (with ``audit``, the bundle and key routes too)."""

    async def home(request: Request) -> Response:
        return RedirectResponse("/track")

    async def track(request: Request) -> Response:
        return FileResponse(STATIC / "track.html", media_type="text/html; charset=utf-8")

    async def config(request: Request) -> Response:
        return JSONResponse(site_config(api_url, audit), headers={"Cache-Control": "no-store"})

    return [
        Route("/", home),
        Route("/track", track),
        Route("/config.json", config),
        *(audit_routes(audit) if audit is not None else []),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


class SecurityHeaders:
    """ASGI middleware adding the site's security headers to every response."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    api_url: str,
    extra_routes: list[BaseRoute] | None = None,
    audit: AuditSource | None = None,
) -> Starlette:
    """The site for an API at ``api_url`` (``extra_routes`` served too, before the rest;
    ``audit``: serve orders' audit bundles and the keys to check them)."""
    return Starlette(
        routes=[*(extra_routes or []), *site_routes(api_url, audit)],
        middleware=[Middleware(SecurityHeaders, policy=content_security_policy(api_url))],
    )
