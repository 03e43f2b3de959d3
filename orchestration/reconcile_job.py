"""The key reconciliation job: deletions whose push was missed, once a day.

``orderhub_key_reconciliation`` runs :func:`connectors.reconcile.reconcile` for each system
with a key listing (SAP) and logs the batch it stores in the provenance log, as a sync's
batches are. It is an op job, not an asset of the 15-minute flow: a listing reads every key
of the source (for SAP ~1 request per 1,000 orders), so its schedule runs it daily; the
next flow's dbt build turns what it stored into deletion events. A listing that cannot be
trusted fails the run (nothing stored).
"""

from dagster import OpExecutionContext, ScheduleDefinition, job, op

from connectors.reconcile import RECONCILED, reconcile
from orchestration.provenance import log_extraction_batches
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource


@op(description="List each source's keys; store a flagged deletion of each key gone.")
def reconcile_keys(
    context: OpExecutionContext,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    ledger: LedgerResource,
) -> None:
    url = warehouse.url()
    for system in RECONCILED:
        found = reconcile(system, sources.config(system), url, progress=context.log.info)
        if found.batch is not None:
            with ledger.log(url) as log:
                log_extraction_batches(log, [found.batch], context.log.info)
        context.log.info(f"{system}: {len(found.missing)} gone: {', '.join(found.missing)}")


@job(
    name="orderhub_key_reconciliation",
    description="Deletions a source never pushed, found by listing its keys (daily).",
)
def key_reconciliation_job() -> None:
    reconcile_keys()


key_reconciliation_schedule = ScheduleDefinition(
    name="key_reconciliation",
    job=key_reconciliation_job,
    cron_schedule="15 3 * * *",
    description="Daily: list the sources' keys and store the deletions no push announced.",
)
