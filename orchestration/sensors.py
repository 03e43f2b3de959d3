"""Sensors: a run that failed, an asset gone stale, and raw rows waiting to be published.

- ``run_failure_case`` raises a ``run_failed`` case (:mod:`orderhub.cases`) for every run
  that fails, naming the job, the run and the failed steps.
- ``stale_assets`` raises a ``stale_asset`` case for every asset whose last
  materialization is older than its group's fail window (:mod:`orchestration.freshness`,
  the windows the UI shows as freshness policies).
- ``unpublished_backlog`` requests the full flow when raw rows arrived after the raw
  watermark of the published build (:func:`unpublished_backlog`) - the work the next
  publish has to take in - and no run of the flow is in progress. It starts stopped, like
  the schedule (turn one of them on in the UI); the other two run from the start.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from connectors.catalog import CONNECTORS
from orchestration.freshness import WINDOWS
from orchestration.resources import WarehouseResource
from orchestration.schedules import everything_job
from orderhub.cases import raise_case

_ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


@run_failure_sensor(
    name="run_failure_case",
    monitor_all_code_locations=True,
    default_status=DefaultSensorStatus.RUNNING,
)
def run_failure_case(context: RunFailureSensorContext) -> None:
    """A case for the failed run."""
    run = context.dagster_run
    failed = [event.step_key for event in context.get_step_failure_events()]
    raise_case(
        WarehouseResource().url(),
        "run_failed",
        run.job_name,
        {"run_id": run.run_id, "failed_steps": failed, "error": context.failure_event.message},
    )


def stale_keys(context: SensorEvaluationContext, now: float) -> list[tuple[AssetKey, float]]:
    """The assets older than their group's fail window, and their age in seconds."""
    assert context.repository_def is not None
    graph = context.repository_def.asset_graph
    stale = []
    for key in graph.get_all_asset_keys():
        group = graph.get(key).group_name
        if group not in WINDOWS:
            continue
        event = context.instance.get_latest_materialization_event(key)
        age = now - event.timestamp if event else float("inf")
        if age > WINDOWS[group][1].total_seconds():
            stale.append((key, age))
    return stale


@sensor(
    name="stale_assets", minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING
)
def stale_assets(context: SensorEvaluationContext) -> SkipReason:
    """A case per stale asset (see the module)."""
    stale = stale_keys(context, time.time())
    url = WarehouseResource().url()
    for key, age in stale:
        age_text = "never materialized" if age == float("inf") else f"{age / 3600:.1f} h old"
        raise_case(url, "stale_asset", key.to_user_string(), {"age": age_text})
    return SkipReason(f"{len(stale)} stale asset(s)" if stale else "every asset is fresh")


def unpublished_backlog(url: str) -> tuple[int, Any]:
    """Raw rows extracted after the published build's raw watermark, and that watermark
    (all rows before the first publish)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select raw_watermark from orderhub_meta.published where layer = 'marts'"
        ).fetchone()
        watermark = row[0] if row else None
        total = 0
        for connector in CONNECTORS.values():
            for stream in connector.streams:
                table = f"{connector.raw_schema}.{stream.name}"
                if conn.execute("select to_regclass(%s)", (table,)).fetchone() == (None,):
                    continue
                found = conn.execute(
                    f"select count(*) from {table} where %s::timestamptz is null"
                    " or extracted_at > %s",
                    (watermark, watermark),
                ).fetchone()
                total += int(found[0]) if found else 0
    return total, watermark


@sensor(name="unpublished_backlog", job=everything_job, minimum_interval_seconds=60)
def backlog_sensor(context: SensorEvaluationContext) -> RunRequest | SkipReason:
    """The full flow, when raw rows wait for a publish and no flow runs (see the module)."""
    rows, watermark = unpublished_backlog(WarehouseResource().url())
    if not rows:
        return SkipReason("nothing waits for a publish")
    active = context.instance.get_runs(
        RunsFilter(job_name=everything_job.name, statuses=_ACTIVE), limit=1
    )
    if active:
        return SkipReason(f"{rows} raw rows wait; run {active[0].run_id} is in progress")
    return RunRequest(
        run_key=f"backlog-{watermark}-{rows}",
        tags={"orderhub/trigger": "unpublished_backlog"},
    )


SENSORS = [run_failure_case, stale_assets, backlog_sensor]
