"""The provenance events orderhub records, and the payload fields each one carries.

:data:`PROVENANCE_KINDS` is what every :class:`ledger.log.ProvenanceLog` of orderhub is
opened with (the Dagster ``LedgerResource``, the audit tests, the benchmarks): the ledger
refuses an event of another kind, or one whose payload lacks a field listed here.

- ``extraction_batch``: one stream of one sync — system, stream, batch id, cursors,
  records read, stored and quarantined, the Merkle root of the records it stored, when
  it ran (the extraction time stamped on its records) and the leaf rule (the fields an
  audit bundle reads come from :mod:`ledger.bundle`);
- ``dbt_build``: the invocation, what ran with which checksum, the code revision, and
  what an audit bundle proves a status against: the crosswalk version (a Merkle root) and
  its row count, the derivation spec's hash, the root and size of the orders' claims;
- ``validation``: a Great Expectations suite (and its version) on a table, the rows it
  read (written after ``rows_since``, or every row), and each expectation's outcome;
- ``model_training``: the MLflow run, the registered model version, the hash of the data
  it trained on and its backtest metrics;
- ``model_promotion``: the challenger against the champion: the versions, whether the
  challenger was promoted and why, the margin, the test and the numbers it rests on;
- ``publish``: the api schema and views a signed checkpoint publishes, and the run;
- ``anchor``: where a checkpoint was anchored (the receipt's fields, :mod:`ledger.receipts`);
- ``fulfilment_writeback``: one write-back to a source system that created something (a
  replenishment picking in the WMS, a capacity reservation in the TMS): the target, the
  idempotency key, the SHA-256 of the RFC 8785 request body, the HTTP status and the id the
  system gave it (:mod:`fulfilment.writeback`);
- ``case_action``: one action on a case (opened, reopened, assigned, acknowledged,
  resolved, dismissed, escalated): the action's and the case's ids, the case's kind and
  subject, who, when, the note (:mod:`orderhub.cases.provenance`).

The payloads themselves are made in :mod:`orchestration.provenance`.
"""

from __future__ import annotations

from ledger.bundle.format import BATCH_EVENT, BATCH_EVENT_FIELDS, BUILD_EVENT, BUILD_EVENT_FIELDS
from ledger.kinds import EventKinds
from ledger.receipts import ANCHOR_EVENT, ANCHOR_EVENT_FIELDS

#: The event of an action on a case (orderhub/cases/provenance.py).
CASE_ACTION_EVENT = "case_action"
#: The event of a write-back to a source system (fulfilment/writeback.py).
WRITEBACK_EVENT = "fulfilment_writeback"

PROVENANCE_KINDS = EventKinds(
    {
        BATCH_EVENT: (
            *BATCH_EVENT_FIELDS,
            "system",
            "stream",
            "cursor_from",
            "cursor_to",
            "records_read",
            "records_quarantined",
            "leaf",
        ),
        BUILD_EVENT: (
            "invocation_id",
            "dbt_version",
            "statuses",
            "checksums",
            *BUILD_EVENT_FIELDS,
            "code_revision",
        ),
        "validation": (
            "suite",
            "suite_version",
            "table",
            "success",
            "rows_since",
            "expectations",
            "results",
            "failed",
        ),
        "model_training": (
            "mlflow_run_id",
            "model_name",
            "model_version",
            "data_snapshot_hash",
            "series",
            "horizon_days",
            "rows_written",
            "metrics",
        ),
        "model_promotion": (
            "mlflow_run_id",
            "model_name",
            "challenger_version",
            "champion_version",
            "promoted",
            "serving_version",
            "reason",
            "margin",
            "alpha",
            "test",
            "comparison",
        ),
        "publish": ("schema", "views", "run_id"),
        ANCHOR_EVENT: ANCHOR_EVENT_FIELDS,
        WRITEBACK_EVENT: (
            "target",
            "idempotency_key",
            "request_sha256",
            "http_status",
            "created_id",
        ),
        CASE_ACTION_EVENT: (
            "action_id",
            "case_id",
            "case_kind",
            "subject",
            "action",
            "actor",
            "note",
            "acted_at",
        ),
    }
)
