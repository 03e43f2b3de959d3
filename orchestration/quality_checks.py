"""The blocking checks of write-audit-publish, as Dagster asset checks on the marts.

Each Great Expectations suite and each guard (:mod:`quality.guards`: row counts and
distributions against the published build) runs on the colour just built
(:func:`orchestration.wap.colours`). A failing one is blocking: the publish step
(``api_views``) does not run in that run, so the API keeps serving the published colour;
the check's result says what it found and what it blocked, and it raises a
``publish_blocked`` case (:func:`orchestration.wap.block_case`). Every validation is
recorded as a ``validation`` provenance event.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)

from orchestration import wap
from orchestration.dbt_assets import model_key
from orchestration.provenance import validation_event
from orchestration.resources import LedgerResource, WarehouseResource
from quality.guards import GUARDS, Guard, check_guard
from quality.new_rows import validate_built
from quality.suites import SUITES, Suite

#: What a failed check blocks, as its metadata says.
BLOCKS = "api_views (the publish of the colour built)"


def _result(
    context: AssetCheckExecutionContext,
    url: str,
    name: str,
    table: str,
    passed: bool,
    description: str,
    metadata: dict[str, object],
) -> AssetCheckResult:
    built, published = wap.colours(url)
    metadata = {**metadata, "built_colour": built.colour, "serving": published or "nothing"}
    if not passed:
        metadata["blocked"] = BLOCKS
        metadata["case_id"] = wap.block_case(url, name, table, description, context.run_id)
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def suite_check(suite: Suite) -> AssetChecksDefinition:
    """A blocking asset check that validates ``suite`` on its table in the built colour."""

    @asset_check(
        asset=model_key(suite.table),
        name=f"gx_{suite.name}",
        blocking=True,
        description=f"Great Expectations suite `{suite.name}` on {suite.table}, in the colour "
        "just built; blocks the publish.",
    )
    def _check(
        context: AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> AssetCheckResult:
        url = warehouse.url()
        built, _ = wap.colours(url)
        outcome = validate_built(url, suite, built.marts)
        event = validation_event(outcome)
        ledger.log(url).append_event("validation", event)
        context.log.info(outcome.summary())
        metadata = {
            "suite_version": outcome.suite_version,
            "expectations": len(outcome.expectations),
            "failed": len(event["failed"]),
        }
        return _result(
            context, url, _check.check_key.name, suite.table, outcome.success,
            outcome.summary(), metadata,
        )  # fmt: skip

    return _check


def guard_check(guard: Guard) -> AssetChecksDefinition:
    """A blocking asset check: ``guard`` on the built colour against the published one."""

    @asset_check(
        asset=model_key(guard.table),
        name=f"guard_{guard.name}",
        blocking=True,
        description=f"Guard `{guard.name}` of {guard.table} against the published build "
        f"(max drop {guard.max_drop:.0%}, max shift {guard.max_shift:.0%}, from "
        f"{guard.min_rows} rows); blocks the publish.",
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        url = warehouse.url()
        built, published = wap.colours(url)
        outcome = check_guard(url, guard, built.marts, published)
        context.log.info(outcome.description)
        metadata = {"built": outcome.built, "published": outcome.published or 0.0}
        return _result(
            context, url, _check.check_key.name, guard.table, outcome.passed,
            outcome.description, metadata,
        )  # fmt: skip

    return _check


QUALITY_CHECKS: list[AssetChecksDefinition] = [
    *(suite_check(suite) for suite in SUITES.values()),
    *(guard_check(guard) for guard in GUARDS),
]
