"""Jobs and schedules: the whole flow, and incremental syncs every 15 minutes."""

from __future__ import annotations

from dagster import AssetSelection, ScheduleDefinition, define_asset_job

everything_job = define_asset_job(
    "orderhub_full_flow",
    selection=AssetSelection.all(),
    description="Sync every source, rebuild the canonical model, validate, forecast, publish.",
)

incremental_sync_schedule = ScheduleDefinition(
    name="incremental_sync",
    job=everything_job,
    cron_schedule="*/15 * * * *",
    description="Incremental connector syncs (cursor-based) and everything downstream.",
)
