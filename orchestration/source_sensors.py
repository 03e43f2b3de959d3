"""Source change sensors: one per API source system, syncing it only when it changed.

Every minute ``<system>_changes`` probes the system (:func:`connectors.probes.probe_system`:
one small request per stream for what lies at or after the stored cursor - for the TMS,
which cannot be asked that, its newest page - not a sync) and, only when the source holds a
record the raw tables do not, requests a run of that system's connector assets, tagged with
the system (``orchestration.sync_policy.SYSTEM_TAG``: the run queue starts one such run per
system at a time). The run key is the probe's evidence - the stored cursor and the first
record not stored - so a change is synced once, however many ticks see it before the sync
lands. The sensors start stopped, like the schedule (turn them on in the UI); they select
the connector assets by key, so they drive an Airbyte server's connections as well as the
embedded runner.
"""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from connectors.catalog import SYSTEMS
from connectors.probes import probe_system
from orchestration.resources import SourcesResource, WarehouseResource
from orchestration.sync_policy import SYSTEM_TAG, raw_asset_key

#: How often a source is probed, in seconds.
PROBE_INTERVAL = 60


def sensor_name(system: str) -> str:
    """The name of ``system``'s change sensor."""
    return f"{system}_changes"


def system_keys(system: str) -> list[AssetKey]:
    """The connector assets of ``system``: one per stream."""
    return [raw_asset_key(system, stream) for stream in SYSTEMS[system].stream_names]


def source_change_sensor(system: str) -> SensorDefinition:
    """The sensor that syncs ``system`` when a probe finds a change (see the module)."""
    keys = system_keys(system)

    @sensor(
        name=sensor_name(system),
        asset_selection=AssetSelection.assets(*keys),
        minimum_interval_seconds=PROBE_INTERVAL,
        default_status=DefaultSensorStatus.STOPPED,
        description=f"Syncs the {system.upper()} when a cheap probe finds a change there.",
    )
    def _probe(
        context: SensorEvaluationContext, warehouse: WarehouseResource, sources: SourcesResource
    ) -> RunRequest | SkipReason:
        found = probe_system(system, sources.config(system), warehouse.url())
        if not found.changed:
            return SkipReason(f"{system}: {found.reason}")
        context.log.info(f"{system}: {found.reason}")
        return RunRequest(
            run_key=f"{system}:{found.stream}:{found.evidence}",
            asset_selection=keys,
            tags={SYSTEM_TAG: system, "orderhub/trigger": sensor_name(system)},
        )

    return _probe


SOURCE_SENSORS = [source_change_sensor(system) for system in SYSTEMS]
