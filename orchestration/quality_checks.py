"""Great Expectations suites as blocking Dagster asset checks on the marts.

A failing suite stops the ``api`` views from being rebuilt in the same run
(write-audit-publish), and every validation is recorded as a ``validation``
provenance event.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)

from orchestration.dbt_assets import model_key
from orchestration.provenance import validation_event
from orchestration.resources import LedgerResource, WarehouseResource
from quality.runner import validate
from quality.suites import SUITES, Suite


def suite_check(suite: Suite) -> AssetChecksDefinition:
    """A blocking asset check that validates ``suite`` on its table."""

    @asset_check(
        asset=model_key(suite.table),
        name=f"gx_{suite.name}",
        blocking=True,
        description=f"Great Expectations suite `{suite.name}` on {suite.schema}.{suite.table}.",
    )
    def _check(
        context: AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> AssetCheckResult:
        url = warehouse.url()
        outcome = validate(url, suite)
        event = validation_event(outcome)
        ledger.log(url).append_event("validation", event)
        context.log.info(outcome.summary())
        return AssetCheckResult(
            passed=outcome.success,
            severity=AssetCheckSeverity.ERROR,
            description=outcome.summary(),
            metadata={
                "suite_version": outcome.suite_version,
                "expectations": len(outcome.expectations),
                "failed": len(event["failed"]),
            },
        )

    return _check


QUALITY_CHECKS: list[AssetChecksDefinition] = [suite_check(suite) for suite in SUITES.values()]
