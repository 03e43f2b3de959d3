"""``orderhub api``: PostgREST 12 serving the ``api`` schema until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from orderhub.progress import say
from orderhub.settings import Settings


def _cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.bootstrap import prepare_warehouse
    from orderhub.api import ApiServer
    from orderhub.warehouse import warehouse_url

    url = warehouse_url(settings)
    prepare_warehouse(settings, url)
    server = ApiServer(settings, url, port=args.port)
    base = server.start()
    say(f"API: PostgREST 12 serving schema 'api' on {base}")
    say(
        f"  try: curl '{base}/orders?canonical_status=eq.in_transit&order=updated_at.desc&limit=20'"
    )
    say("  stop with Ctrl-C")
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def register(subparsers: Any) -> None:
    """Add ``api`` to the ``orderhub`` parser."""
    api = subparsers.add_parser("api", help="serve the unified API (PostgREST) until Ctrl-C")
    api.add_argument("--port", type=int, default=None, help="port (default ORDERHUB_API_PORT)")
    api.set_defaults(func=_cmd_api)
