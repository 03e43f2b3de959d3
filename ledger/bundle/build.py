"""Assembling an audit bundle from what the caller read: no database, no hashing of data.

:class:`BundleBuilder` takes the pieces one by one — each batch's log entry and its
inclusion proof, each record with its proof in its batch tree, each derived row naming its
record — and :meth:`BundleBuilder.build` writes the document of
``format: orderhub-audit-bundle/v1`` around the signed checkpoint and its anchor receipts.
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


class BundleBuilder:
    """The audit bundle about ``subject`` (the values every event row must carry)."""

    def __init__(self, subject: Mapping[str, Any]) -> None:
        self.subject = dict(subject)
        self.batches: dict[str, dict[str, Any]] = {}
        self.records: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
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
            "log_index": log_index,
            "log_entry": canonical_json(entry).decode("utf-8"),
            "log_proof": [p.hex() for p in log_proof],
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
        """A source record as stored, with its proof in its batch's tree; its position."""
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

    def add_event(self, row: Mapping[str, Any], record: int) -> None:
        """A derived row and the position of the record it comes from."""
        self.events.append({"row": dict(row), "record": record})

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
            "events": list(self.events),
        }


def consistency_document(old_note: str, new_note: str, proof: Sequence[bytes]) -> dict[str, Any]:
    """The JSON document proving the checkpoint ``new_note`` extends ``old_note``."""
    return {
        "format": CONSISTENCY_FORMAT,
        "old": old_note,
        "new": new_note,
        "proof": [p.hex() for p in proof],
    }
