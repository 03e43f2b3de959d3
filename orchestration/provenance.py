"""Provenance events: what each step tells the ledger about itself.

The ledger is a library of proofs that knows no source system; this module is
where a step's facts become an event. Each function returns the payload of one
event kind (``extraction_batch``, ``dbt_build``, ``validation``,
``model_training``, ``model_promotion``, ``publish``).

A batch's Merkle root covers the records that batch stored, in the ledger's leaf
order (:mod:`ledger.batches`); the loader builds and stores that tree as the batch
succeeds (:mod:`connectors.batches`), so the ``extraction_batch`` event is made from the
:class:`~connectors.batches.BatchResult` alone, without reading the batch back. The kinds
and their fields are listed in :mod:`orderhub.provenance`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from connectors.batches import BatchResult
from ledger.batches import LEAF_RULE
from ledger.bundle.format import BATCH_EVENT, BUILD_EVENT_FIELDS
from ledger.bundle.values import iso_utc
from ledger.log import ProvenanceLog

if TYPE_CHECKING:  # heavy imports, needed for the annotations only
    from ml.forecast import ForecastResult
    from quality.runner import ValidationOutcome

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@cache
def code_revision() -> str:
    """The git commit the code runs from, or ``unknown``."""
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def extraction_event(batch: BatchResult) -> dict[str, Any]:
    """The ``extraction_batch`` payload of a loaded batch: its root and size as stored."""
    return {
        "system": batch.system,
        "stream": batch.stream,
        "batch_id": batch.batch_id,
        "cursor_from": batch.cursor_from,
        "cursor_to": batch.cursor_to,
        "records_read": batch.records_read,
        "records_stored": batch.records_stored,
        "records_quarantined": batch.records_quarantined,
        "merkle_root": batch.merkle_root,
        "extracted_at": iso_utc(batch.started_at),
        "leaf": LEAF_RULE,
    }


def dbt_build_event(
    manifest: Mapping[str, Any],
    run_results: Mapping[str, Any],
    derived: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The ``dbt_build`` payload: invocation, checksums of what ran, and what the build
    derived with and for (:func:`orchestration.derived_state.derived_state`: crosswalk
    version and rows, derivation spec hash, the root and size of the orders' claims)."""
    ran = {result["unique_id"]: result["status"] for result in run_results.get("results", [])}
    nodes = manifest.get("nodes", {})
    checksums = {
        unique_id: nodes[unique_id]["checksum"]["checksum"]
        for unique_id in sorted(ran)
        if unique_id in nodes and "checksum" in nodes[unique_id]
    }
    return {
        "invocation_id": run_results.get("metadata", {}).get("invocation_id"),
        "dbt_version": run_results.get("metadata", {}).get("dbt_version"),
        "statuses": dict(sorted(ran.items())),
        "checksums": checksums,
        **{name: (derived or {}).get(name) for name in BUILD_EVENT_FIELDS},
        "code_revision": code_revision(),
    }


def crosswalk_version(database_url: str, marts: str = "marts") -> str | None:
    """The crosswalk version the last build (into the schema ``marts``) used (None before
    the first build)."""
    events = f'"{marts}".fct_order_status_events'
    with psycopg.connect(database_url) as conn:
        exists = conn.execute("select to_regclass(%s) is not null", (events,)).fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute(f"select max(crosswalk_version) from {events}").fetchone()
        return row[0] if row else None


def validation_event(outcome: ValidationOutcome) -> dict[str, Any]:
    """The ``validation`` payload: which suite (and its version hash) on which table, the
    result, and every expectation's outcome."""
    return {
        "suite": outcome.suite,
        "suite_version": outcome.suite_version,
        "table": outcome.table,
        "success": outcome.success,
        # the rows read: written after this stamp (a narrowed suite), or every row (None)
        "rows_since": iso_utc(outcome.rows_since),
        "expectations": len(outcome.expectations),
        "results": [
            {
                "type": e.type,
                "column": e.column,
                "success": e.success,
                "unexpected_count": e.unexpected_count,
            }
            for e in outcome.expectations
        ],
        "failed": [
            {"type": f.type, "column": f.column, "unexpected_count": f.unexpected_count}
            for f in outcome.failures
        ],
    }


def model_training_event(result: ForecastResult) -> dict[str, Any]:
    """The ``model_training`` payload: MLflow run, the registered model version it trained
    (the challenger), the hash of the data it trained on, and its backtest metrics against
    the baseline."""
    return {
        "mlflow_run_id": result.run_id,
        "model_name": result.model_name,
        "model_version": result.challenger_version or result.model_version,
        "data_snapshot_hash": result.data_snapshot_hash,
        "series": result.series,
        "horizon_days": result.horizon_days,
        "rows_written": result.rows_written,
        "metrics": {
            "model_mae": result.model_mae,
            "baseline_mae": result.baseline_mae,
            "model_wape": result.model_wape,
            "baseline_wape": result.baseline_wape,
            "model_mase": result.model_mase,
            "baseline_mase": result.baseline_mase,
            "coverage_80": result.coverage_80,
            "coverage_95": result.coverage_95,
        },
    }


def model_promotion_event(result: ForecastResult) -> dict[str, Any]:
    """The ``model_promotion`` payload: the challenger against the champion on the same
    backtest windows, the decision, and the numbers it rests on (None for the first model)."""
    decision = dict(result.promotion or {})
    numbers = (
        "champion_mae",
        "challenger_mae",
        "improvement",
        "dm_statistic",
        "p_value",
        "days",
        "series",
    )
    comparison = {k: decision[k] for k in numbers if k in decision} or None
    return {
        "mlflow_run_id": result.run_id,
        "model_name": result.model_name,
        "challenger_version": decision.get("challenger_version"),
        "champion_version": decision.get("champion_version"),
        "promoted": bool(decision.get("promoted")),
        "serving_version": result.model_version,
        "reason": decision.get("reason"),
        "margin": decision.get("margin"),
        "alpha": decision.get("alpha"),
        "test": decision.get("test"),
        "comparison": comparison,
    }


def log_extraction_batches(
    log: ProvenanceLog, batches: Sequence[BatchResult], say: Callable[[str], None]
) -> dict[str, Any]:
    """Append one ``extraction_batch`` event per batch to ``log``; their
    :func:`extraction_metadata`."""
    for batch in batches:
        index = log.append_event(BATCH_EVENT, extraction_event(batch))
        say(f"{batch.system}.{batch.stream}: batch {batch.batch_id} is ledger leaf {index}")
    return extraction_metadata(batches)


def extraction_metadata(batches: Sequence[BatchResult]) -> dict[str, Any]:
    """A materialization's metadata of ``batches`` (one stream's of one run): records read,
    stored and quarantined, batch ids, cursor, Merkle roots - the ``extraction_batch``
    payload's names."""
    return {
        "records_read": sum(b.records_read for b in batches),
        "records_stored": sum(b.records_stored for b in batches),
        "records_quarantined": sum(b.records_quarantined for b in batches),
        "batch_ids": ", ".join(b.batch_id for b in batches),
        "cursor_to": str(batches[-1].cursor_to) if batches else "",
        "merkle_roots": ", ".join(b.merkle_root for b in batches),
    }
