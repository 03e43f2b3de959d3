"""``orderhub stop``: stop the embedded PostgreSQL of this home."""

from __future__ import annotations

import argparse
from typing import Any

from orderhub.progress import say
from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres


def _cmd_stop(args: argparse.Namespace, settings: Settings) -> int:
    stopped = EmbeddedPostgres(settings).stop()
    say("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    return 0


def register(subparsers: Any) -> None:
    """Add ``stop`` to the ``orderhub`` parser."""
    stop = subparsers.add_parser("stop", help="stop the embedded PostgreSQL")
    stop.set_defaults(func=_cmd_stop)
