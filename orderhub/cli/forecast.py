"""``orderhub forecast backfill``: the daily demand and forecast partitions over past days.

Runs the Dagster job ``demand_forecast_daily`` (:mod:`orchestration.daily_assets`) once per
day from ``--from`` to ``--to`` in-process, on the instance under the home (the runs and the
partitions show in ``orderhub ui``), and prints one line per day. Each day's forecast reads
the demand up to that day only, so the range is the history of what each day would have
forecast (``ml.forecast_as_of``); re-running a day replaces that day alone. The demo runs
the last complete day the same way (:func:`run_days`).
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from datetime import date
from typing import TYPE_CHECKING, Any

from orderhub.progress import say
from orderhub.settings import Settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

DAILY_JOB = "demand_forecast_daily"


def partition_keys(first: date, last: date) -> list[str]:
    """The daily partition keys from ``first`` to ``last``; ValueError outside the range
    the partitions cover (their start date to the last complete UTC day)."""
    from dagster import PartitionKeyRange

    from orchestration.daily_assets import DAILY, DAILY_START

    newest = DAILY.get_last_partition_key()
    if first > last:
        raise ValueError(f"--from {first} is after --to {last}")
    if first.isoformat() < DAILY_START or newest is None or last.isoformat() > newest:
        raise ValueError(
            f"days {first} to {last} are outside the daily partitions ({DAILY_START} to "
            f"{newest}, the last complete UTC day)"
        )
    return DAILY.get_partition_keys_in_range(PartitionKeyRange(first.isoformat(), last.isoformat()))


def run_days(
    settings: Settings, keys: list[str], instance: DagsterInstance | None = None
) -> dict[str, list[str]]:
    """Run the daily job for each partition key; each key's failed step keys (empty when it
    succeeded). ``instance`` defaults to the one under the home."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.instance import ensure_dagster_home

    ensure_dagster_home(settings)
    job = defs.resolve_job_def(DAILY_JOB)
    failed: dict[str, list[str]] = {}
    with nullcontext(instance) if instance else DagsterInstance.get() as active:
        for key in keys:
            result = job.execute_in_process(
                instance=active,
                partition_key=key,
                raise_on_error=False,
                run_config={"loggers": {"progress": {}}},
            )
            failed[key] = [e.step_key or "?" for e in result.all_events if e.is_step_failure]
    return failed


def _cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    keys = partition_keys(args.first, args.last)
    say(f"{DAILY_JOB}: {len(keys)} day(s), {keys[0]} to {keys[-1]}")
    outcome = run_days(settings, keys)
    for key, failed in outcome.items():
        print(f"{key}: " + (f"failed at {', '.join(failed)}" if failed else "materialized"))
    return 1 if any(outcome.values()) else 0


def register(subparsers: Any) -> None:
    """Add ``forecast`` to the ``orderhub`` parser."""
    forecast = subparsers.add_parser("forecast", help="the daily demand and forecast partitions")
    commands = forecast.add_subparsers(dest="forecast_command", required=True)
    backfill = commands.add_parser(
        "backfill", help="materialize the daily partitions over past days (one run per day)"
    )
    backfill.add_argument(
        "--from", dest="first", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD"
    )
    backfill.add_argument(
        "--to", dest="last", type=date.fromisoformat, required=True, help="last day (included)"
    )
    backfill.set_defaults(func=_cmd_backfill)
