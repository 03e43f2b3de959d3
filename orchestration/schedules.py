"""Jobs and schedules: the whole flow every 15 minutes, and the daily forecast partitions.

``orderhub_full_flow`` is every unpartitioned asset (connectors to the publish); the daily
partitioned assets (:mod:`orchestration.daily_assets`) run in ``demand_forecast_daily``,
whose schedule requests the last complete UTC day shortly after midnight;
``orderhub_key_reconciliation`` (:mod:`orchestration.reconcile_job`) runs daily at 03:15
UTC. The schedules start stopped (turn them on in the UI).
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from orchestration.daily_assets import DAILY_KEYS
from orchestration.reconcile_job import key_reconciliation_job, key_reconciliation_schedule

everything_job = define_asset_job(
    "orderhub_full_flow",
    selection=AssetSelection.all() - AssetSelection.assets(*DAILY_KEYS),
    description="Sync every source, rebuild the canonical model, validate, forecast, publish.",
)

incremental_sync_schedule = ScheduleDefinition(
    name="incremental_sync",
    job=everything_job,
    cron_schedule="*/15 * * * *",
    description="Incremental connector syncs (cursor-based) and everything downstream.",
)

daily_forecast_job = define_asset_job(
    "demand_forecast_daily",
    selection=AssetSelection.assets(*DAILY_KEYS),
    description="One day's published demand and the forecast as of that day (daily partitions).",
)

daily_forecast_schedule = build_schedule_from_partitioned_job(
    daily_forecast_job,
    name="demand_forecast_daily",
    minute_of_hour=30,
    description="After midnight UTC: the last complete day's demand and its forecast.",
)

SCHEDULES = [incremental_sync_schedule, daily_forecast_schedule, key_reconciliation_schedule]
JOBS = [everything_job, daily_forecast_job, key_reconciliation_job]
