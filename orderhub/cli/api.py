"""``orderhub api``: PostgREST 12 serving the ``api`` schema, and the tracking site beside it,
until SIGTERM or Ctrl-C (SIGINT) - either stops both within seconds
(:mod:`orderhub.processes`); if PostgREST exits by itself, the command exits with its code.
"""

from __future__ import annotations

import argparse
from typing import Any

from orderhub.progress import say
from orderhub.settings import Settings


def _cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.bootstrap import prepare_warehouse
    from orderhub.api import ApiServer, public_url
    from orderhub.processes import StopSignals
    from orderhub.site.audit import AuditSource
    from orderhub.site.server import SiteServer
    from orderhub.warehouse import warehouse_url

    with StopSignals() as stop:
        url = warehouse_url(settings)
        prepare_warehouse(settings, url)
        server = ApiServer(settings, url, port=args.port)
        site = SiteServer(
            public_url(settings, args.port),
            settings.site_host,
            settings.site_port if args.site_port is None else args.site_port,
            audit=AuditSource.from_settings(settings, url),
        )
        try:
            if stop.requested.is_set():
                return 0
            base = server.start(cancel=stop.requested)
            if stop.requested.is_set():
                return 0
            site_url = site.start()
            _announce(base, site_url)
            while not stop.requested.wait(0.2):
                code = server.exit_code()
                if code is not None:
                    say(f"PostgREST exited with code {code}; see the home's logs/postgrest.log")
                    return code or 1
                if not site.running:
                    say("the tracking site stopped")
                    return 1
            return 0
        finally:
            site.stop()
            server.stop()


def _announce(base: str, site_url: str) -> None:
    say(f"API: PostgREST 12 serving schema 'api' on {base} (a token per role: orderhub token)")
    say(
        f'  try: curl -H "Authorization: Bearer $(orderhub token issue --role analyst)" '
        f"'{base}/orders?canonical_status=eq.in_transit&order=updated_at.desc&limit=20'"
    )
    say(f"tracking page: {site_url}/track")
    say("  stop with Ctrl-C")


def register(subparsers: Any) -> None:
    """Add ``api`` to the ``orderhub`` parser."""
    api = subparsers.add_parser(
        "api", help="serve the unified API (PostgREST) and the tracking page until Ctrl-C"
    )
    api.add_argument("--port", type=int, default=None, help="port (default ORDERHUB_API_PORT)")
    api.add_argument(
        "--site-port",
        type=int,
        default=None,
        help="port of the tracking site (default ORDERHUB_SITE_PORT, 3080)",
    )
    api.set_defaults(func=_cmd_api)
