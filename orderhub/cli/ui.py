"""``orderhub ui``: the Dagster UI (``dagster dev``) on the orderhub definitions, until
Ctrl-C or SIGTERM (either stops ``dagster dev`` with SIGINT, :mod:`orderhub.processes`)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from orderhub.processes import run_child
from orderhub.progress import say
from orderhub.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.instance import ensure_dagster_home

    ensure_dagster_home(settings)
    os.environ["ORDERHUB_HOME"] = str(settings.home_dir)
    dagster = Path(sys.executable).with_name("dagster")
    command = [
        str(dagster), "dev", "-m", "orchestration.definitions",
        "-h", args.host, "-p", str(args.port),
    ]  # fmt: skip
    say(f"Dagster UI on http://{args.host}:{args.port} (asset graph, runs, checks); Ctrl-C stops")
    # dagster dev stops its webserver and daemon on SIGINT (docs/architecture.md)
    return run_child(command, stop_signal=signal.SIGINT, cwd=PROJECT_ROOT)


def register(subparsers: Any) -> None:
    """Add ``ui`` to the ``orderhub`` parser."""
    ui = subparsers.add_parser("ui", help="start the Dagster UI on the orderhub definitions")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3001)
    ui.set_defaults(func=_cmd_ui)
