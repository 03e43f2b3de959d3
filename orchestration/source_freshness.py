"""``dbt source freshness`` as Dagster asset checks on the raw tables it declares fresh.

The dbt sources of the API systems declare how fresh their raw tables must be
(``dbt_project/models/staging/__sources.yml``: ``loaded_at_field`` ``extracted_at``, warn
after an hour, error after six). One ``dbt source freshness`` run checks them all; each
raw table gets its result as the check ``dbt_source_freshness`` (severity WARN, not
blocking: stale sources are reported and the stale asset sensor raises a case, the build
still publishes what it has).
"""

import json
from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from connectors.catalog import SYSTEMS
from orchestration.connector_assets import raw_asset_key
from orchestration.dbt_run import invoke_dbt
from orchestration.resources import WarehouseResource
from orderhub.settings import get_settings

CHECK = "dbt_source_freshness"
KEYS = {
    f"source.orderhub.{system}.{stream.name}": raw_asset_key(system, stream.name)
    for system, spec in SYSTEMS.items()
    for stream in spec.streams
}


def freshness_results(url: str, work: Path) -> dict[str, dict[str, object]]:
    """Per dbt source unique id: its freshness status and age (dbt's sources.json)."""
    invoke_dbt(url, work, "source", "freshness")
    found = json.loads((work / "target" / "sources.json").read_text(encoding="utf-8"))
    return {result["unique_id"]: result for result in found.get("results", [])}


@multi_asset_check(
    specs=[
        AssetCheckSpec(CHECK, asset=key, description="dbt source freshness of the raw table")
        for key in KEYS.values()
    ],
    name="dbt_source_freshness",
)
def source_freshness(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[AssetCheckResult]:
    results = freshness_results(warehouse.url(), get_settings().home_dir / "dbt" / "freshness")
    for unique_id, key in KEYS.items():
        result = results.get(unique_id, {})
        status = str(result.get("status", "not run"))
        age = result.get("max_loaded_at_time_ago_in_s")
        context.log.info(f"{unique_id}: {status}")
        yield AssetCheckResult(
            asset_key=key,
            check_name=CHECK,
            passed=status == "pass",
            severity=AssetCheckSeverity.WARN,
            metadata={"status": status, "age_seconds": float(age) if age is not None else -1.0},
        )
