"""The ``orderhub`` command line: one module per command group.

``demo`` (:mod:`.demo`), ``api`` (:mod:`.api`), ``serve`` (:mod:`.serve`),
``subscriptions`` (:mod:`.subscriptions`), ``token``
(:mod:`.token`), ``track`` (:mod:`.track`), ``ui`` (:mod:`.ui`), ``mlflow``
(:mod:`.mlflow`), ``sandbox`` (:mod:`.sandbox`), ``stop`` (:mod:`.warehouse`), ``audit``
(:mod:`.audit`), ``crosswalk`` (:mod:`.crosswalk`) and ``connectors`` (:mod:`.connectors`).
Every command reads the same settings (``ORDERHUB_*`` variables, optionally a ``.env``);
errors are printed as one line naming what was wrong, exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from orderhub.cli import (
    api,
    audit,
    connectors,
    crosswalk,
    demo,
    mlflow,
    sandbox,
    serve,
    subscriptions,
    token,
    track,
    ui,
    warehouse,
)
from orderhub.settings import disable_telemetry, get_settings

#: The command groups, in the order ``orderhub --help`` lists them.
COMMAND_GROUPS = (
    demo,
    api,
    serve,
    subscriptions,
    token,
    track,
    ui,
    mlflow,
    sandbox,
    warehouse,
    audit,
    crosswalk,
    connectors,
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``orderhub`` command."""
    parser = argparse.ArgumentParser(
        prog="orderhub",
        description="Open integration hub for order data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``orderhub`` console script."""
    disable_telemetry()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, get_settings()))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for the user; details with ORDERHUB_DEBUG=1
        if os.environ.get("ORDERHUB_DEBUG"):
            raise
        message = " ".join(str(exc).split())  # one line, even for multi-line messages
        print(f"orderhub {args.command}: error: {message}", file=sys.stderr)
        return 2
