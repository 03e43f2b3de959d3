"""``orderhub mlflow``: the MLflow UI on the home's tracking store and registry.

Runs and their children (one per model family and backtest window), the plots (forecast
against actual with intervals, backtest accuracy per model), the per-series metrics and
the registered model ``orderhub-demand`` with its ``champion`` and ``challenger`` aliases.
The UI listens on 127.0.0.1 unless told otherwise; Ctrl-C or SIGTERM stops it
(:mod:`orderhub.processes`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orderhub.processes import run_child
from orderhub.progress import say
from orderhub.settings import Settings, disable_telemetry

#: Server processes of the UI: one serves a person's browser; MLflow's default of four
#: each import the whole tracking server (about 6 s of CPU apiece), which on a two-core
#: machine kept the UI from answering for 25-35 s (2026-12-07).
WORKERS = 1
#: MLflow 3's server also starts a job runner and seven huey consumer processes for its own
#: jobs (GenAI judges, trace rollups), which the forecasts never use. Each imports MLflow:
#: with them the UI took 9.5 s to answer and 12 s to stop after Ctrl-C (longer than the
#: 8 s ``run_child`` waits before it kills ``mlflow ui``, leaving the consumers to exit on
#: their own), without them 7-8 s and under 3 s (2026-12-08). Off unless the user's
#: environment sets it (MLflow's own variable, ``mlflow.environment_variables``).
JOB_EXECUTION = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"


def mlflow_command(settings: Settings, host: str, port: int, workers: int = WORKERS) -> list[str]:
    """The ``mlflow ui`` command line for the home's store (artifacts under the home)."""
    settings.mlflow_artifact_dir.mkdir(parents=True, exist_ok=True)
    executable = Path(sys.executable).with_name("mlflow")
    return [
        str(executable), "ui",
        "--backend-store-uri", settings.mlflow_uri,
        "--default-artifact-root", settings.mlflow_artifact_dir.resolve().as_uri(),
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip


def mlflow_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The UI's environment: ``environ`` with MLflow's job execution off unless it says."""
    env = dict(environ)
    env.setdefault(JOB_EXECUTION, "false")
    return env


def _cmd_mlflow(args: argparse.Namespace, settings: Settings) -> int:
    disable_telemetry()
    command = mlflow_command(settings, args.host, args.port, args.workers)
    say(
        f"MLflow UI on http://{args.host}:{args.port} (store {settings.mlflow_uri}): forecast "
        "runs, plots, the orderhub-demand champion and challenger; Ctrl-C stops"
    )
    return run_child(command, stop_signal=signal.SIGINT, env=mlflow_environment())


def register(subparsers: Any) -> None:
    """Add ``mlflow`` to the ``orderhub`` parser."""
    parser = subparsers.add_parser(
        "mlflow", help="start the MLflow UI on the forecast runs and the model registry"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--workers", type=int, default=WORKERS,
        help=f"server processes (default {WORKERS}; more for a UI many people share)",
    )  # fmt: skip
    parser.set_defaults(func=_cmd_mlflow)
