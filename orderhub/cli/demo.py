"""``orderhub demo``: the whole flow once, on the embedded default.

Starts (or reuses) the warehouse, starts the sandbox source systems as a child process
(:class:`~orderhub.cli.sandbox.SandboxProcess`) and points the source configuration at
them, runs every Dagster asset once in-process against a persistent instance under the
home folder, and prints a summary read back from the warehouse
(:mod:`orderhub.cli.demo_summary`); it ends with the live path: the sandbox pushes a burst
of changes to the live service and the latencies measured are printed
(:mod:`orderhub.live.burst`). A scenario that plays in rounds (``--scenario messy``, or the
default one with ``--moves``: an incremental run after a share of the orders moved on) is
run once per round - the sandbox moves its world on between runs, as the world moves on
between two syncs - up to ``--rounds``; the summary is the last run's, and an earlier
run's failed steps are printed as they happen. After a successful flow it runs the daily
partitions of the last complete day (demand, forecast as of that day:
:mod:`orderhub.cli.forecast`), as their daily schedule would.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from orderhub.cli.demo_summary import DemoSummary, read_summary
from orderhub.cli.sandbox import (
    SandboxProcess,
    add_scenario_arguments,
    sandbox_command,
    scenario_options,
)
from orderhub.progress import dbt_output_summarised, say
from orderhub.settings import Settings, disable_telemetry, get_settings
from orderhub.warehouse import EmbeddedPostgres, free_port, warehouse_url


def run_flow(settings: Settings) -> tuple[bool, list[str]]:
    """Run every asset and check once, in-process; returns (success, failed step keys)."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.instance import ensure_dagster_home

    ensure_dagster_home(settings)
    job = defs.resolve_job_def("orderhub_full_flow")
    with DagsterInstance.get() as instance, dbt_output_summarised():
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, run_config={"loggers": {"progress": {}}}
        )
    failed = [event.step_key or "?" for event in result.all_events if event.is_step_failure]
    return result.success, failed


def run_rounds(
    sandbox: SandboxProcess, rounds: int | None, first: int = 1
) -> tuple[bool, list[str]]:
    """Run the flow once per round of the sandbox's scenario, from round ``first`` up to
    ``rounds`` (all when None); the last run's (success, failed step keys). Rounds before
    ``first`` are moved past without a run: the warehouse is taken to have seen them."""
    total = sandbox.rounds() if rounds is None else min(rounds, sandbox.rounds())
    if not 1 <= first <= total:
        raise SystemExit(f"--from-round {first}: the scenario plays rounds 1 to {total}")
    for _ in range(1, first):
        moved = sandbox.next_round()
        assert moved is not None, "the sandbox refused to move on to its next round"
        say(f"sandbox: moved on to round {moved['round']} of {moved['rounds']} without a run")
    success, failed = run_flow(get_settings())
    for _ in range(first, total):
        if not success:
            say(f"the run failed at: {', '.join(failed)} (the api keeps serving what it served)")
        moved = sandbox.next_round()
        if moved is None:
            break
        say(f"sandbox: round {moved['round']} of {moved['rounds']}: the world moved on")
        success, failed = run_flow(get_settings())
    return run_last_day(get_settings()) if success else (success, failed)


def run_last_day(settings: Settings) -> tuple[bool, list[str]]:
    """The daily partitions of the last complete day; (success, failed step keys)."""
    from orchestration.daily_assets import DAILY
    from orderhub.cli.forecast import run_days

    day = DAILY.get_last_partition_key()
    assert day is not None
    say(f"daily partitions: demand and the forecast as of {day}")
    failed = run_days(settings, [day])[day]
    return not failed, failed


def run_demo(
    settings: Settings,
    *,
    orders: int,
    seed: int,
    anomalies: int | float = 1,
    scenario: str = "default",
    as_of: str | None = None,
    rounds: int | None = None,
    first_round: int = 1,
    live: bool = True,
    moves: float = 0.0,
) -> DemoSummary:
    """Run the demo end to end and return its summary (``scenario``, ``orders``, ``seed``,
    ``anomalies``, ``as_of``: see the sandbox; ``rounds``: the last of its rounds to play,
    ``first_round`` the first; ``live``: end with the live path's burst, which moves the
    world on past the batch; ``moves``: the default scenario's rounds 2 and 3 each move that share
    of its orders on, and the flow runs again each time: incremental runs)."""
    disable_telemetry()
    embedded = settings.database_url is None
    already_running = embedded and EmbeddedPostgres(settings).is_running()
    say(
        "warehouse: "
        + ("starting embedded PostgreSQL" if embedded else "using ORDERHUB_DATABASE_URL")
    )
    url = warehouse_url(settings)
    live_port = free_port()
    command = sandbox_command(
        settings,
        orders=orders,
        seed=seed,
        anomalies=anomalies,
        port=0,
        scenario=scenario,
        as_of=as_of,
        moves=moves,
    )
    command += ["--push", f"http://127.0.0.1:{live_port}"]
    try:
        with SandboxProcess(command) as sandbox:
            say(f"sandbox: ERP, CRM, WMS and TMS serving on {sandbox.root_url}")
            os.environ["ORDERHUB_HOME"] = str(settings.home_dir)
            os.environ["ORDERHUB_DATABASE_URL"] = url
            os.environ.update(sandbox.source_environment())
            get_settings.cache_clear()
            say("loading the Dagster definitions (dbt manifest prepared once per project change)")
            success, failed = run_rounds(sandbox, rounds, first_round)
            burst = live_burst(url, sandbox.root_url, live_port) if success and live else ""
        summary = read_summary(url, success, failed)
        summary.live = burst
    finally:
        if embedded and not already_running:
            EmbeddedPostgres(settings).stop()
            say("warehouse: embedded PostgreSQL stopped (`orderhub api` starts it again)")
    return summary


def live_burst(url: str, sandbox_root: str, port: int) -> str:
    """End with the live path: a burst of pushed changes; the latencies measured."""
    from orderhub.live.burst import run_burst

    say("live path: starting the live service and pushing a burst of tracker changes")
    return run_burst(get_settings(), url, sandbox_root, port).render()


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    summary = run_demo(
        settings,
        **scenario_options(args, settings),
        rounds=args.rounds,
        first_round=args.from_round,
        live=args.live,
    )
    print(summary.render())
    return 0 if summary.success else 1


def register(subparsers: Any) -> None:
    """Add ``demo`` to the ``orderhub`` parser."""
    demo = subparsers.add_parser("demo", help="run the whole flow once on the embedded default")
    add_scenario_arguments(demo)
    demo.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="play only the scenario's first N rounds, one run each (default: all)",
    )
    demo.add_argument(
        "--from-round",
        type=int,
        default=1,
        metavar="N",
        help="start at round N on a warehouse that has already seen the rounds before it"
        " (they are moved past without a run; default: 1)",
    )
    demo.add_argument(
        "--live",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="end with the live path: a burst of pushed changes, their latencies printed"
        " (--no-live: the batch flow only, the world left where the batch saw it)",
    )
    demo.set_defaults(func=_cmd_demo)


__all__ = ["DemoSummary", "read_summary", "register", "run_demo", "run_flow", "run_rounds"]
