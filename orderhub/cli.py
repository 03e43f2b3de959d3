"""The ``orderhub`` command line: demo, api, ui, sandbox, stop, audit.

Every command reads the same settings (``ORDERHUB_*`` variables, optionally a
``.env``); errors are printed as one line naming what was wrong, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from orderhub import audit_cli, connectors_cli, crosswalk_cli
from orderhub.progress import say
from orderhub.settings import Settings, disable_telemetry, get_settings


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.demo import run_demo

    summary = run_demo(
        settings,
        orders=args.orders or settings.scenario_orders,
        seed=settings.scenario_seed if args.seed is None else args.seed,
        anomalies=args.anomalies,
    )
    print(summary.render())
    return 0 if summary.success else 1


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
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()


def _cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.sandbox.credentials import SandboxCredentials
    from orderhub.sandbox.scenario import Scenario
    from orderhub.sandbox.server import SandboxServer

    scenario = Scenario(
        seed=settings.scenario_seed if args.seed is None else args.seed,
        orders=args.orders or settings.scenario_orders,
        anomalies=args.anomalies,
    )
    credentials = SandboxCredentials.from_settings(settings)
    port = settings.sandbox_port if args.port is None else args.port
    server = SandboxServer(scenario, credentials, host=settings.sandbox_host, port=port)
    # Block the stop signals before the server thread starts (it inherits the mask), so that
    # sigwait receives them: unblocked, SIGTERM kills the process before the cleanup below.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        server.start()
        urls = {system: server.base_url(system) for system in ("erp", "crm", "wms", "tms")}
        published = settings.home_dir / "run" / "sandbox.json"
        published.parent.mkdir(parents=True, exist_ok=True)
        published.write_text(json.dumps(urls, indent=2))
        for system, url in urls.items():
            say(f"sandbox {system}: {url}")
        say(f"base URLs written to {published} (the connectors read them); Ctrl-C stops")
        try:
            signal.sigwait(stop_signals)
        finally:
            server.stop()
            published.unlink(missing_ok=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0


def _cmd_stop(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.warehouse import EmbeddedPostgres

    stopped = EmbeddedPostgres(settings).stop()
    say("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    return 0


ANOMALIES_HELP = (
    "orders per anomaly kind (late scan, conflict, regression, misroute, unpaid shipment, "
    "stuck, unknown code; default 1, 0 for none), or a share of the orders below 1"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderhub",
        description="Open integration hub for order data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole flow once on the embedded default")
    demo.add_argument("--orders", type=int, default=None, help="scenario size (orders)")
    demo.add_argument(
        "--seed", type=int, default=None, help="scenario seed (default ORDERHUB_SCENARIO_SEED, 7)"
    )
    demo.add_argument("--anomalies", type=float, default=1, help=ANOMALIES_HELP)
    demo.set_defaults(func=_cmd_demo)

    api = sub.add_parser("api", help="serve the unified API (PostgREST) until Ctrl-C")
    api.add_argument("--port", type=int, default=None, help="port (default ORDERHUB_API_PORT)")
    api.set_defaults(func=_cmd_api)

    ui = sub.add_parser("ui", help="start the Dagster UI on the orderhub definitions")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3001)
    ui.set_defaults(func=_cmd_ui)

    sandbox = sub.add_parser("sandbox", help="serve the simulated ERP, CRM, WMS and TMS")
    sandbox.add_argument("--orders", type=int, default=None, help="scenario size (orders)")
    sandbox.add_argument(
        "--seed", type=int, default=None, help="scenario seed (default ORDERHUB_SCENARIO_SEED, 7)"
    )
    sandbox.add_argument("--anomalies", type=float, default=1, help=ANOMALIES_HELP)
    sandbox.add_argument(
        "--port", type=int, default=None, help="port (default ORDERHUB_SANDBOX_PORT; 0: a free one)"
    )
    sandbox.set_defaults(func=_cmd_sandbox)

    stop = sub.add_parser("stop", help="stop the embedded PostgreSQL")
    stop.set_defaults(func=_cmd_stop)

    audit_cli.register(sub)
    crosswalk_cli.register(sub)
    connectors_cli.register(sub)
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


if __name__ == "__main__":
    sys.exit(main())
