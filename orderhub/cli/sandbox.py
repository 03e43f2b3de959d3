"""``orderhub sandbox``: the simulated source systems, run as the separate program they are.

The sandbox (``sandbox/``, ``python -m sandbox``) stands for the outside world: orderhub
never imports it, it starts it as a process and knows it by its base URLs, as it would
know a real SAP or Salesforce tenant. ``orderhub sandbox`` runs it in the foreground on
``ORDERHUB_SANDBOX_PORT`` (3100, where the default source configuration points);
:class:`SandboxProcess` runs it as a child on a free port (the demo), reads the base URLs
it announces, moves a scenario that plays in rounds on to its next round, and stops it.
``--scenario`` and ``--as-of`` are passed through as given: the sandbox knows its worlds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from orderhub.processes import stop_process
from orderhub.progress import say
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The line the sandbox prints once it accepts connections (``sandbox/__main__.py``).
READY_PREFIX = "sandbox serving on "

ANOMALIES_HELP = (
    "orders per anomaly kind (late scan, conflict, regression, misroute, unpaid shipment, "
    "stuck, unknown code; default 1, 0 for none), or a share of the orders below 1"
)


SCENARIO_HELP = (
    "the world the sandbox serves: default (generated from --orders, --seed, --anomalies) or "
    "messy (hand-written histories that go wrong, played in rounds)"
)
MOVES_HELP = (
    "default scenario: play two more rounds, each moving this share of the orders on (the "
    "newest; 0.01 = 1%%), as orders in flight move between two syncs (default 0: one round)"
)
AS_OF_HELP = (
    "the world's now, ISO 8601 (default: where the world first stood in this home, "
    "<home>/sandbox/as_of)"
)


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario options ``orderhub sandbox`` and ``orderhub demo`` share."""
    parser.add_argument("--scenario", default="default", help=SCENARIO_HELP)
    parser.add_argument("--orders", type=int, default=None, help="scenario size (orders)")
    parser.add_argument(
        "--seed", type=int, default=None, help="scenario seed (default ORDERHUB_SCENARIO_SEED, 7)"
    )
    parser.add_argument("--anomalies", type=float, default=1, help=ANOMALIES_HELP)
    parser.add_argument("--as-of", default=None, help=AS_OF_HELP)
    parser.add_argument("--moves", type=float, default=0.0, help=MOVES_HELP)


def scenario_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """``scenario``, ``orders``, ``seed``, ``anomalies``, ``as_of`` and ``moves`` from the
    options, defaulting to the settings."""
    return {
        "scenario": args.scenario,
        "orders": args.orders or settings.scenario_orders,
        "seed": settings.scenario_seed if args.seed is None else args.seed,
        "anomalies": args.anomalies,
        "as_of": args.as_of,
        "moves": args.moves,
    }


def sandbox_command(
    settings: Settings,
    *,
    orders: int,
    seed: int,
    anomalies: float,
    port: int,
    scenario: str = "default",
    as_of: str | None = None,
    faults: str | None = None,
    fault_seed: int | None = None,
    moves: float = 0.0,
) -> list[str]:
    """The command line that runs the sandbox for ``settings``' home."""
    command = [
        sys.executable, "-m", "sandbox", "--prog", "orderhub sandbox",
        "--home", str(settings.home_dir), "--scenario", scenario,
        "--orders", str(orders), "--seed", str(seed),
        "--anomalies", str(anomalies), "--host", settings.sandbox_host, "--port", str(port),
    ]  # fmt: skip
    if as_of is not None:
        command += ["--as-of", as_of]
    if moves:
        command += ["--moves", str(moves)]
    if faults is not None:
        command += ["--faults", faults]
    if fault_seed is not None:
        command += ["--fault-seed", str(fault_seed)]
    return command


class _Silence:
    """Kills ``process`` once it has printed nothing for ``seconds``; :meth:`heard` each line.

    A sandbox preparing a million orders takes minutes to start but prints a line about
    every 10 s; one that hangs says nothing."""

    def __init__(self, process: subprocess.Popen[str], seconds: float) -> None:
        self.process, self.seconds = process, seconds
        self.fired = False
        self._last = time.monotonic()
        self._stopped = threading.Event()
        threading.Thread(target=self._watch, name="sandbox-start", daemon=True).start()

    def heard(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(min(1.0, self.seconds)):
            if time.monotonic() - self._last > self.seconds:
                self.fired = True
                self.process.kill()
                return


class SandboxProcess:
    """The sandbox as a child process: start it, learn its base URLs, stop it.

    What the sandbox prints is passed on through ``say`` (its scenario, its faults, where
    each system listens); ``urls`` maps each system to its base URL once started.
    """

    def __init__(self, command: list[str], start_timeout: float = 60.0) -> None:
        """``start_timeout``: the seconds the sandbox may print nothing while it starts."""
        self.command = command
        self.start_timeout = start_timeout
        self.urls: dict[str, str] = {}
        self.root_url = ""
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        """The sandbox process's id once started (for whoever measures it)."""
        return None if self._process is None else self._process.pid

    def next_round(self) -> dict[str, int] | None:
        """Move the sandbox's world on to its next round; its ``{"round", "rounds"}``, or
        None when it was at its last round already."""
        response = httpx.post(f"{self.root_url}/rounds/next", timeout=30)
        if response.status_code == 409:
            return None
        response.raise_for_status()
        return dict(response.json())

    def rounds(self) -> int:
        """How many rounds the sandbox's scenario plays."""
        response = httpx.get(f"{self.root_url}/", timeout=30)
        response.raise_for_status()
        return int(response.json().get("rounds", 1))

    def start(self) -> SandboxProcess:
        """Start the sandbox; return once it accepts connections (RuntimeError if it fails)."""
        process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._process = process
        watchdog = _Silence(process, self.start_timeout)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                watchdog.heard()
                line = line.rstrip("\n")
                if line.startswith(READY_PREFIX):
                    self.root_url = line.removeprefix(READY_PREFIX)
                    break
                say(line)
        finally:
            watchdog.stop()
        if watchdog.fired:  # killed as its ready line came: not started
            self.root_url = ""
        if not self.root_url:
            _, err = process.communicate(timeout=30)
            if watchdog.fired:
                problem = (
                    f"it printed nothing for {self.start_timeout:g} s while starting and was "
                    "stopped (a sandbox preparing a large world says so about every 10 s)"
                )
            else:
                problem = " ".join(err.split()) or f"exit code {process.returncode}"
            raise RuntimeError(f"the sandbox did not start: {problem}")
        self.urls = {system: f"{self.root_url}/{system}" for system in API_SYSTEMS}
        threading.Thread(target=self._drain, args=(process,), daemon=True).start()
        return self

    @staticmethod
    def _drain(process: subprocess.Popen[str]) -> None:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                for line in stream:
                    say(f"sandbox: {line.rstrip()}")

    def source_environment(self) -> dict[str, str]:
        """``ORDERHUB_SOURCES__<SYSTEM>__BASE_URL`` for every system, pointing here."""
        return {
            f"ORDERHUB_SOURCES__{system.upper()}__BASE_URL": url
            for system, url in self.urls.items()
        }

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the sandbox (SIGTERM, then SIGKILL after ``timeout``); safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        stop_process(process, grace=timeout)

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    command = sandbox_command(
        settings,
        **scenario_options(args, settings),
        port=settings.sandbox_port if args.port is None else args.port,
        faults=args.faults,
        fault_seed=args.fault_seed,
    )
    sys.stdout.flush()
    os.chdir(PROJECT_ROOT)
    os.execv(command[0], command)  # the sandbox takes this process over; Ctrl-C stops it


def register(subparsers: Any) -> None:
    """Add ``sandbox`` to the ``orderhub`` parser."""
    sandbox = subparsers.add_parser("sandbox", help="serve the simulated ERP, CRM, WMS and TMS")
    add_scenario_arguments(sandbox)
    sandbox.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (default ORDERHUB_SANDBOX_PORT, 3100, where the default sources point; "
        "0: a free one)",
    )
    sandbox.add_argument(
        "--faults",
        help="faults to inject, e.g. erp:429@3,crm:503=0.1,wms:expire@2 "
        "(see sandbox/faults/; default ORDERHUB_SANDBOX_FAULTS)",
    )
    sandbox.add_argument("--fault-seed", type=int, help="seed of probabilistic faults (default 7)")
    sandbox.set_defaults(func=_cmd_sandbox)
