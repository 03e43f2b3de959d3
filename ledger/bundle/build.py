"""Assembling an audit bundle from what the caller read: no database, no hashing of data.

:class:`BundleBuilder` takes the pieces one by one - each batch's log entry and its
inclusion proof, each record version with its proof in its batch tree, the build's log
entry and proof, the derivation spec and the crosswalk rows with their proofs, the order's
claim with its proof, each canonical event naming its record, the status values that are
no event - and :meth:`BundleBuilder.build` writes the document of
``format: orderhub-audit-bundle/v2`` around the signed checkpoint and its anchor receipts.
Records are kept once each (by system, key and content hash) and batches once each, in the
order first added. :func:`consistency_document` writes the ``orderhub-consistency/v1``
document. What goes in is checked by whoever reads the bundle (:mod:`ledger.bundle.verify`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.anchors import AnchorReceipt
from ledger.batches import RecordProof
from ledger.bundle.format import BUNDLE_FORMAT, CONSISTENCY_FORMAT
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint


def _logged(log_index: int, entry: Mapping[str, Any], proof: Sequence[bytes]) -> dict[str, Any]:
    return {
        "log_index": log_index,
        "log_entry": canonical_json(entry).decode("utf-8"),
        "log_proof": [p.hex() for p in proof],
    }


def proved_row(row: Mapping[str, Any], proof: RecordProof) -> dict[str, Any]:
    """A row of a committed table with its leaf index and inclusion proof."""
    return {"leaf_index": proof.index, "row": dict(row), "path": [p.hex() for p in proof.path]}


class BundleBuilder:
    """The audit bundle about ``subject`` (``{"order_id": ...}``)."""

    def __init__(self, subject: Mapping[str, Any]) -> None:
        self.subject = dict(subject)
        self.batches: dict[str, dict[str, Any]] = {}
        self.records: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.not_events: list[dict[str, Any]] = []
        self.build_entry: dict[str, Any] | None = None
        self.derivation: dict[str, Any] = {"spec": None, "crosswalk": []}
        self.claim: dict[str, Any] | None = None
        self._record_at: dict[tuple[str, str, str], int] = {}

    def add_batch(
        self,
        batch_id: str,
        table: str,
        log_index: int,
        entry: Mapping[str, Any],
        log_proof: Sequence[bytes],
    ) -> None:
        """The batch's log entry ``entry`` (entry ``log_index``) and its inclusion proof."""
        self.batches[batch_id] = {
            "batch_id": batch_id,
            "table": table,
            **_logged(log_index, entry, log_proof),
        }

    def record_position(self, system: str, record_key: str, content_hash: str) -> int | None:
        """Where the record is in the bundle, or None when it is not there yet."""
        return self._record_at.get((system, record_key, content_hash))

    def add_record(
        self,
        *,
        table: str,
        system: str,
        record_key: str,
        content_hash: str,
        batch_id: str,
        extracted_at: str,
        data: Any,
        proof: RecordProof,
    ) -> int:
        """A source record version as stored, with its proof in its batch's tree; its
        position."""
        self.records.append(
            {
                "table": table,
                "system": system,
                "record_key": record_key,
                "content_hash": content_hash,
                "batch_id": batch_id,
                "extracted_at": extracted_at,
                "data": data,
                "batch_proof": {
                    "leaf_index": proof.index,
                    "tree_size": proof.size,
                    "path": [p.hex() for p in proof.path],
                },
            }
        )
        self._record_at[(system, record_key, content_hash)] = len(self.records) - 1
        return len(self.records) - 1

    def set_build(self, log_index: int, entry: Mapping[str, Any], proof: Sequence[bytes]) -> None:
        """The ``dbt_build`` log entry the derivation is proved against, and its proof."""
        self.build_entry = _logged(log_index, entry, proof)

    def set_derivation(self, spec: Mapping[str, Any], crosswalk: Sequence[dict[str, Any]]) -> None:
        """The derivation spec the build applied and the crosswalk rows the bundle uses
        (each from :func:`proved_row`)."""
        self.derivation = {"spec": dict(spec), "crosswalk": list(crosswalk)}

    def set_claim(self, claim: Mapping[str, Any], proof: RecordProof) -> None:
        """The order's claim as the build committed it, with its proof in the claims tree."""
        self.claim = {
            "order": dict(claim),
            "leaf_index": proof.index,
            "path": [p.hex() for p in proof.path],
        }

    def add_event(self, row: Mapping[str, Any], record: int) -> None:
        """A canonical event row and the position of the record it comes from."""
        self.events.append({"row": dict(row), "record": record})

    def set_not_events(self, not_events: Sequence[Mapping[str, Any]]) -> None:
        """The records' status values that are no event, each with its rule."""
        self.not_events = [dict(n) for n in not_events]

    def build(
        self,
        checkpoint: Checkpoint,
        note: str,
        receipts: Sequence[AnchorReceipt],
        generated_at: str,
    ) -> dict[str, Any]:
        """The bundle: proofs lead to ``checkpoint``, whose signed note is ``note``."""
        return {
            "format": BUNDLE_FORMAT,
            "subject": dict(self.subject),
            "generated_at": generated_at,
            "log": {
                "origin": checkpoint.origin,
                "tree_size": checkpoint.size,
                "root_hash": checkpoint.root_hash.hex(),
                "checkpoint": note,
            },
            "anchors": [receipt.to_json() for receipt in receipts],
            "batches": list(self.batches.values()),
            "records": list(self.records),
            "build": self.build_entry,
            "derivation": self.derivation,
            "claim": self.claim,
            "events": list(self.events),
            "not_events": list(self.not_events),
        }


def consistency_document(old_note: str, new_note: str, proof: Sequence[bytes]) -> dict[str, Any]:
    """The JSON document proving the checkpoint ``new_note`` extends ``old_note``."""
    return {
        "format": CONSISTENCY_FORMAT,
        "old": old_note,
        "new": new_note,
        "proof": [p.hex() for p in proof],
    }
