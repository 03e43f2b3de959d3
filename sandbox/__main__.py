"""``python -m sandbox``: serve the four simulated source systems until SIGINT or SIGTERM.

The sandbox runs as a process of its own, like the systems it stands for: orderhub knows
it only by the base URLs of its source configuration (``orderhub sandbox`` runs this
module in the foreground; ``orderhub demo`` runs it as a child on a free port). While it
prepares its world it prints ``sandbox preparing: ...`` lines, about one every 10 s
(:mod:`sandbox.preparing`). Once it accepts connections it prints its scenario, the
faults it injects (``none`` when it injects none; ``--faults`` or
``ORDERHUB_SANDBOX_FAULTS``), one line per system, ``sandbox <system>: <base URL>``, and
last ``sandbox serving on <root URL>``, which a parent process waits for.

``--scenario`` names the world it serves (``default``, generated from ``--orders``,
``--seed`` and ``--anomalies``, in rounds 2 and 3 with ``--moves``; ``messy``,
hand-written, in rounds: ``POST /rounds/next`` on the root URL moves it on), ``--as-of``
where that world stands in time (by default where it first stood in this home, see
:mod:`sandbox.worlds`). ``--push URL`` (or ``ORDERHUB_SANDBOX_PUSH=1``) pushes every change
to orderhub's live service (:mod:`sandbox.push`); ``POST /changes`` moves records on
(:mod:`sandbox.changes`).

The credentials it accepts are the home's source secrets (``--home``, default
``ORDERHUB_HOME``), so the connectors of that home and the sandbox always agree. A
problem (a bad fault spec, a port in use) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS, DEFAULT_SANDBOX_HOST, DEFAULT_SANDBOX_PORT

#: The line a parent process waits for: the sandbox accepts connections at the URL after it.
READY_PREFIX = "sandbox serving on "


def build_parser() -> argparse.ArgumentParser:
    """The sandbox's options."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Serve the simulated ERP, CRM, WMS and TMS."
    )
    # the name errors are reported under (``orderhub sandbox`` when it runs this module)
    parser.add_argument("--prog", default="python -m sandbox", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, default=None, help="orderhub home (its secrets)")
    parser.add_argument("--orders", type=int, default=400, help="scenario size (orders)")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed")
    parser.add_argument("--anomalies", type=float, default=1, help="orders per anomaly kind")
    parser.add_argument("--scenario", default="default", help="default or messy (rounds)")
    parser.add_argument(
        "--moves", type=float, default=0.0, help="default scenario: orders moved in rounds 2, 3"
    )
    parser.add_argument(
        "--as-of", default=None, help="the world's now (ISO 8601; default: kept in the home)"
    )
    parser.add_argument("--host", default=DEFAULT_SANDBOX_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_SANDBOX_PORT, help="0: a free one")
    parser.add_argument("--faults", default=None, help="faults to inject (sandbox/faults/)")
    parser.add_argument(
        "--push",
        default=None,
        help="push every change to orderhub's live service at this URL (default: "
        "ORDERHUB_SANDBOX_PUSH=1 pushes to ORDERHUB_SANDBOX_PUSH_URL or the serve port)",
    )
    parser.add_argument("--fault-seed", type=int, default=None, help="seed of random faults")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Start the server, print where it listens, wait for SIGINT or SIGTERM, stop."""
    from sandbox.credentials import SandboxCredentials
    from sandbox.faults import FaultPlan
    from sandbox.preparing import Preparing
    from sandbox.push import Pusher, push_target
    from sandbox.server import SandboxServer
    from sandbox.worlds import build, world_as_of

    settings = Settings(home=args.home) if args.home else Settings()
    if args.faults is not None:
        faults = FaultPlan.parse(args.faults, 7 if args.fault_seed is None else args.fault_seed)
    else:
        faults = FaultPlan.from_env()
    with Preparing().running() as preparing:
        what = f"{args.orders} orders" if args.scenario == "default" else "its records"
        preparing.phase(f"generating the {args.scenario} scenario ({what})")
        scenario = build(
            args.scenario,
            seed=args.seed,
            orders=args.orders,
            anomalies=args.anomalies,
            as_of=world_as_of(settings.home_dir, args.as_of),
            moves=args.moves,
        )
        credentials = SandboxCredentials.from_settings(settings)
        push_url = args.push or (push_target(settings) if settings.sandbox_push else None)
        pusher = Pusher(settings, push_url) if push_url else None
        preparing.phase("building the four systems' records")
        server = SandboxServer(
            scenario, credentials, host=args.host, port=args.port, faults=faults, pusher=pusher
        )
    # Block the stop signals before the server thread starts (it inherits the mask), so that
    # sigwait receives them: unblocked, SIGTERM kills the process before the cleanup below.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        server.start()
        try:
            print(f"sandbox scenario: {scenario.describe()}")
            print(faults.describe())  # "none" too: a run says which faults are active
            if pusher is not None:
                print(f"sandbox pushes to: {pusher.url}")
            for system in API_SYSTEMS:
                print(f"sandbox {system}: {server.base_url(system)}")
            print(f"{READY_PREFIX}{server.root_url}", flush=True)
            signal.sigwait(stop_signals)
        finally:
            server.stop()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox; errors are one line naming what was wrong, exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return serve(args)
    except Exception as exc:
        message = " ".join(str(exc).split())
        print(f"{args.prog}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
