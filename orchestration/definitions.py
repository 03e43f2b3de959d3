"""The Dagster ``Definitions`` of orderhub: every stage's assets, checks and resources.

Load it with ``dagster dev -m orchestration.definitions`` (``orderhub ui`` does).
"""

from __future__ import annotations

from dagster import Definitions

from orchestration.anchor_assets import ledger_anchors
from orchestration.connector_assets import CONNECTOR_ASSETS, CONNECTOR_RESOURCES
from orchestration.dbt_assets import api_views, canonical_models, dbt_resource
from orchestration.forecast_assets import demand_forecasts
from orchestration.fulfilment_assets import fulfilment_decisions
from orchestration.progress_logger import LOGGERS
from orchestration.publish_assets import ledger_checkpoint
from orchestration.quality_checks import QUALITY_CHECKS
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource
from orchestration.schedules import everything_job, incremental_sync_schedule
from orchestration.sensors import SENSORS
from orchestration.source_freshness import source_freshness
from orchestration.unmapped_checks import CROSSWALK_CHECKS
from orderhub.settings import disable_telemetry

disable_telemetry()

defs = Definitions(
    assets=[
        *CONNECTOR_ASSETS,
        canonical_models,
        api_views,
        demand_forecasts,
        fulfilment_decisions,
        ledger_checkpoint,
        ledger_anchors,
    ],
    asset_checks=[*QUALITY_CHECKS, *CROSSWALK_CHECKS, source_freshness],
    jobs=[everything_job],
    schedules=[incremental_sync_schedule],
    sensors=SENSORS,
    loggers=LOGGERS,
    resources={
        "warehouse": WarehouseResource(),
        "sources": SourcesResource(),
        "ledger": LedgerResource(),
        "dbt": dbt_resource(),
        **CONNECTOR_RESOURCES,
    },
)
