"""The fulfilment decisions asset: allocation, replenishment and capacity, carbon, and the
write-back to the WMS and the TMS (fulfilment/README.md).

It runs after the forecast (replenishment reads its quantiles) and the marts; each write-back
that created something is a ``fulfilment_writeback`` provenance leaf, appended by the stage
through the log this asset hands it.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from fulfilment.run import run_fulfilment
from orchestration.dbt_assets import model_key
from orchestration.forecast_assets import FORECAST_KEY
from orchestration.freshness import policy
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource

FULFILMENT_KEY = AssetKey(["fulfilment", "decisions"])


@asset(
    key=FULFILMENT_KEY,
    deps=[
        FORECAST_KEY,
        model_key("fct_order_current_status"),
        model_key("fct_shipment_current_status"),
        model_key("stg_wms__stock_quants"),
        model_key("stg_wms__warehouses"),
    ],
    group_name="fulfilment",
    freshness_policy=policy("fulfilment"),
    kinds={"highspy", "postgres"},
    owners=["team:data-platform"],
    description=(
        "Warehouse allocation of every open order line (one HiGHS MILP, reasons, manual-review "
        "rows), reorder points and replenishment from the forecast's quantiles, carrier "
        "capacity, CO2e per shipment and order (ISO 14083 / GLEC), consolidation suggestions; "
        "replenishment pickings and capacity reservations written back idempotently."
    ),
)
def fulfilment_decisions(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    ledger: LedgerResource,
) -> MaterializeResult:
    url = warehouse.url()
    configs = {system: sources.config(system) for system in ("wms", "tms")}
    run = run_fulfilment(url, configs, ledger.log(url))
    created = [o for o in run.writebacks if o.result == "created"]
    context.log.info(
        f"fulfilment {run.run_id}: {run.allocation.lines} open lines ({run.allocation.status},"
        f" {run.allocation.seconds:.1f} s), {len(run.allocation.reviews)} manual-review rows,"
        f" {sum(s.suggested_quantity > 0 for s in run.suggestions)} replenishment suggestions,"
        f" {len(created)} write-backs created, {run.shipments_accounted} shipments accounted"
    )
    return MaterializeResult(
        metadata={
            "run_id": run.run_id,
            "open_lines": run.allocation.lines,
            "solve_status": run.allocation.status,
            "solve_seconds": run.allocation.seconds,
            "manual_review_rows": len(run.allocation.reviews),
            "writebacks_created": len(created),
            "writeback_leaves": ", ".join(str(o.leaf_index) for o in created),
            "shipments_accounted": run.shipments_accounted,
            "consolidation_groups": run.consolidation_groups,
        }
    )
