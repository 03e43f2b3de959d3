"""The offline verifier of audit bundles and consistency documents.

:func:`verify_bundle` checks a bundle (``docs/audit-bundle.md``) in the order an auditor
would: the checkpoint's signature by the trusted log key; each anchor receipt, witness
receipts with the trusted witness keys only (:mod:`ledger.bundle.witnesses`); each batch's
log entry and its inclusion in the checkpoint; each record's content hash, its inclusion in
its batch's logged root and the batch's logged extraction time; then the status itself
(:mod:`ledger.bundle.proving`): the build entry, the derivation spec and crosswalk rows it
logged, the order's claim, every event re-derived from the records, nothing dropped, the
status re-derived from the events. It raises :class:`~ledger.bundle.format.BundleError`
naming the first item that fails. :func:`verify_consistency_document` checks two signed
checkpoints and the RFC 9162 consistency proof between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.batches import RecordProof, content_hash, verify_record
from ledger.bundle.checks import get, guard, hex32, logged_entry, non_negative, path
from ledger.bundle.format import BATCH_EVENT, BUNDLE_FORMAT, CONSISTENCY_FORMAT, BundleError, Report
from ledger.bundle.proving import check_derivation
from ledger.bundle.witnesses import check_anchors
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.proofs import verify_consistency


def _checkpoint(log: Mapping[str, Any], key: str, report: Report) -> Checkpoint:
    note = get(log, "checkpoint", "log")
    origin = log.get("origin")
    checkpoint: Checkpoint = guard(
        "checkpoint", lambda: open_checkpoint(str(note), key, origin=origin)
    )
    if "tree_size" in log and log["tree_size"] != checkpoint.size:
        raise BundleError(
            f"checkpoint: the bundle says size {log['tree_size']}, the note {checkpoint.size}"
        )
    if "root_hash" in log and log["root_hash"] != checkpoint.root_hash.hex():
        raise BundleError("checkpoint: the bundle's root_hash is not the note's root")
    report.ok(
        f"checkpoint {checkpoint.origin} size {checkpoint.size} root "
        f"{checkpoint.root_hash.hex()} is signed by the trusted log key"
    )
    return checkpoint


#: What a batch logged before batches logged their extraction time shows instead: its
#: records' ``extracted_at`` is then the bundle's word (docs/audit-bundle.md).
LEGACY = "? (not logged: the records' extraction time is the bundle's word)"


@dataclass(frozen=True)
class _Batch:
    batch_id: str
    root: bytes
    size: int
    payload: dict[str, Any]


def _batches(batches: Sequence[Any], checkpoint: Checkpoint, report: Report) -> dict[str, _Batch]:
    out: dict[str, _Batch] = {}
    for i, batch in enumerate(batches):
        batch_id = str(get(batch, "batch_id", f"batch #{i}"))
        item = f"batch {batch_id}"
        logged = logged_entry(batch, checkpoint, BATCH_EVENT, item)
        payload = logged.payload
        if payload.get("batch_id") != batch_id:
            raise BundleError(
                f"{item}: log entry {logged.index} records batch {payload.get('batch_id')!r}"
            )
        root = hex32(get(payload, "merkle_root", item), f"{item} merkle_root")
        size = non_negative(get(payload, "records_stored", item), f"{item} records_stored")
        out[batch_id] = _Batch(batch_id, root, size, payload)
        report.ok(
            f"{item}: log entry {logged.index} is in the checkpoint; it logs {size} records "
            f"with root {root.hex()}, extracted at {payload.get('extracted_at', LEGACY)}"
        )
    return out


def _record(record: Any, i: int, batches: Mapping[str, _Batch], report: Report) -> None:
    key = get(record, "record_key", f"record #{i}")
    item = f"record #{i} ({record.get('table', '?')} {key})"
    declared = hex32(get(record, "content_hash", item), f"{item} content_hash")
    data = get(record, "data", item)
    actual = content_hash(guard(item, lambda: canonical_json(data)))
    if actual != declared:
        raise BundleError(
            f"{item}: its data hashes to {actual.hex()}, not its content hash {declared.hex()}"
        )
    batch_id = str(get(record, "batch_id", item))
    batch = batches.get(batch_id)
    if batch is None:
        raise BundleError(f"{item}: its batch {batch_id} is not in the bundle")
    for field in ("system", "extracted_at"):
        if field not in batch.payload and field == "extracted_at":  # a batch logged before
            continue
        if get(record, field, item) != batch.payload.get(field):
            raise BundleError(
                f"{item}: its {field} is {record[field]!r}, batch {batch_id} logged "
                f"{batch.payload.get(field)!r}"
            )
    proof = get(record, "batch_proof", item)
    size = non_negative(get(proof, "tree_size", item), f"{item} batch_proof.tree_size")
    if size != batch.size:
        raise BundleError(
            f"{item}: its proof is for a batch of {size} records, "
            f"batch {batch_id} logged {batch.size}"
        )
    where = RecordProof(
        non_negative(get(proof, "leaf_index", item), f"{item} batch_proof.leaf_index"),
        size,
        tuple(path(get(proof, "path", item), f"{item} batch_proof.path")),
    )
    guard(f"{item} in batch {batch_id}", lambda: verify_record(declared, where, batch.root))
    report.ok(f"{item}: data hashes to {declared.hex()}, leaf {where.index} of batch {batch_id}")


def verify_bundle(
    bundle: Mapping[str, Any], log_key: str, *, witness_keys: Sequence[str] = ()
) -> Report:
    """Check an audit bundle offline with the trusted log verifier key.

    Each of ``witness_keys`` (trusted witness verifier keys) must have cosigned the
    checkpoint; no key named inside a receipt is trusted. Raises :class:`BundleError`
    naming the first item that fails.
    """
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        got = bundle.get("format") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise BundleError(f"format: expected {BUNDLE_FORMAT!r}, got {got!r}")
    report = Report()
    checkpoint = _checkpoint(get(bundle, "log", "bundle"), log_key, report)
    check_anchors(bundle.get("anchors") or [], checkpoint, witness_keys, report)
    batches = _batches(get(bundle, "batches", "bundle"), checkpoint, report)
    records = get(bundle, "records", "bundle")
    if not isinstance(records, list) or not records:
        raise BundleError("records: the bundle holds no record")
    for i, record in enumerate(records):
        _record(record, i, batches, report)
    streams = {
        b.batch_id: (b.payload.get("system"), b.payload.get("stream")) for b in batches.values()
    }
    check_derivation(bundle, checkpoint, streams, report)
    return report


def verify_consistency_document(document: Mapping[str, Any], log_key: str) -> Report:
    """Check both checkpoints' signatures and the consistency proof between them."""
    if document.get("format") != CONSISTENCY_FORMAT:
        raise BundleError(
            f"format: expected {CONSISTENCY_FORMAT!r}, got {document.get('format')!r}"
        )
    report = Report()
    old: Checkpoint = guard(
        "old checkpoint", lambda: open_checkpoint(str(get(document, "old", "document")), log_key)
    )
    new: Checkpoint = guard(
        "new checkpoint",
        lambda: open_checkpoint(str(get(document, "new", "document")), log_key, origin=old.origin),
    )
    report.ok(f"old checkpoint size {old.size} and new checkpoint size {new.size} are signed")
    proof = path(get(document, "proof", "document"), "proof")
    guard(
        f"consistency {old.size} -> {new.size}",
        lambda: verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof),
    )
    report.ok(
        f"the log at size {new.size} (root {new.root_hash.hex()}) extends the log at size "
        f"{old.size} (root {old.root_hash.hex()}): {len(proof)}-hash proof verifies"
    )
    return report
