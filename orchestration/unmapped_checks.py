"""The Dagster check that names the status codes the crosswalk does not know.

``unmapped_status_codes_are_mapped`` runs after the canonical model and fails, with
severity WARN and not blocking, while ``fct_unmapped_status_codes`` of the colour just
built has rows: its description has one line per code (system, field, code, where seen)
and its metadata a table. Not blocking on purpose: an unknown code is kept and flagged,
never dropped or guessed, and the api views still publish everything else (the dbt test
``assert_no_unmapped_status_codes`` warns in the same run). Adding the code to
``dbt_project/seeds/status_crosswalk.csv`` clears it on the next build.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from orchestration import wap
from orchestration.dbt_assets import model_key
from orchestration.resources import WarehouseResource
from quality.unmapped import markdown_table, unmapped_status_codes


@asset_check(
    asset=model_key("fct_unmapped_status_codes"),
    name="unmapped_status_codes_are_mapped",
    blocking=False,
    description=(
        "Fails (warning, not blocking) while the sources send status codes the crosswalk "
        "does not know, naming each system, field and code; add them to "
        "dbt_project/seeds/status_crosswalk.csv."
    ),
)
def unmapped_status_codes_are_mapped(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    url = warehouse.url()
    codes = unmapped_status_codes(url, wap.colours(url)[0].marts)
    for code in codes:
        context.log.warning(code.line())
    if not codes:
        return AssetCheckResult(
            passed=True, description="every status code is in the crosswalk", metadata={"codes": 0}
        )
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.WARN,
        description="\n".join(code.line() for code in codes),
        metadata={"codes": len(codes), "unmapped": MetadataValue.md(markdown_table(codes))},
    )


CROSSWALK_CHECKS: list[AssetChecksDefinition] = [unmapped_status_codes_are_mapped]
