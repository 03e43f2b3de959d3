"""``orderhub serve``: the live service on ``ORDERHUB_SERVE_PORT`` (3090) until SIGTERM or
Ctrl-C - the webhook receivers of the source systems and the hot-path workers in this
process, the outbound dispatcher in a child process it supervises (:mod:`orderhub.live`).
Either signal stops both within seconds.
"""

from __future__ import annotations

import argparse
from typing import Any

from orderhub.progress import say
from orderhub.settings import Settings


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.bootstrap import prepare_warehouse
    from orderhub.live.runtime import live_service
    from orderhub.processes import StopSignals
    from orderhub.warehouse import warehouse_url

    with StopSignals() as stop:
        url = warehouse_url(settings)
        prepare_warehouse(settings, url)
        port = settings.serve_port if args.port is None else args.port
        say("live service: compiling the hot path's SQL (dbt compile)")
        service = live_service(settings, url, settings.serve_host, port)
        if stop.requested.is_set():
            return 0
        say(f"live service: webhooks on http://{settings.serve_host}:{port}/webhooks/<system>")
        say("  stop with Ctrl-C")
        service.run(stop.requested)
    return 0


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``orderhub`` parser."""
    serve = subparsers.add_parser(
        "serve", help="run the live service (webhooks, hot path, subscribers) until Ctrl-C"
    )
    serve.add_argument("--port", type=int, default=None, help="port (default ORDERHUB_SERVE_PORT)")
    serve.set_defaults(func=_cmd_serve)
