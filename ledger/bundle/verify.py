"""The offline verifier of audit bundles and consistency documents.

:func:`verify_bundle` checks a bundle (see :mod:`ledger.bundle`) in the order an auditor
would: the checkpoint's signature by the trusted log key, each anchor receipt, each batch's
log entry and its inclusion in the checkpoint, each record's content hash and its inclusion
in its batch's logged root, each event's lineage columns against its record; it raises
:class:`~ledger.bundle.format.BundleError` naming the first item that fails.
:func:`verify_consistency_document` checks two signed checkpoints and the RFC 9162
consistency proof between them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.anchors import AnchorError, AnchorReceipt, verify_receipt
from ledger.batches import RecordProof, content_hash, verify_record
from ledger.bundle.format import (
    BATCH_EVENT,
    BUNDLE_FORMAT,
    CONSISTENCY_FORMAT,
    LINEAGE,
    BundleError,
    Report,
)
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import CanonicalJSONError, CheckpointError, ProofError
from ledger.hashing import HASH_SIZE, leaf_hash
from ledger.proofs import verify_consistency, verify_inclusion


def _hex32(value: Any, item: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        raise BundleError(f"{item}: {value!r} is not hex") from None
    if len(raw) != HASH_SIZE:
        raise BundleError(f"{item}: a hash has {HASH_SIZE} bytes, not {len(raw)}")
    return raw


def _path(values: Any, item: str) -> list[bytes]:
    if not isinstance(values, list):
        raise BundleError(f"{item}: the proof must be a list of hex hashes")
    return [_hex32(v, f"{item} hash #{i}") for i, v in enumerate(values)]


def _get(obj: Mapping[str, Any], key: str, item: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise BundleError(f"{item}: missing {key!r}")
    return obj[key]


def _int(value: Any, item: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BundleError(f"{item}: {value!r} is not a non-negative integer")
    return value


def _guard(item: str, check: Callable[[], Any]) -> Any:
    """Run ``check``; turn a ledger refusal into a BundleError naming ``item``."""
    try:
        return check()
    except BundleError:
        raise
    except (ProofError, CheckpointError, AnchorError, CanonicalJSONError) as exc:
        raise BundleError(f"{item}: {exc}") from exc


def _checkpoint(log: Mapping[str, Any], key: str, report: Report) -> Checkpoint:
    note = _get(log, "checkpoint", "log")
    origin = log.get("origin")
    checkpoint: Checkpoint = _guard(
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


def _anchors(
    receipts: Sequence[Any], checkpoint: Checkpoint, witness_key: str | None, report: Report
) -> None:
    witnessed = False
    for i, data in enumerate(receipts):
        item = f"anchor #{i}"
        receipt = _guard(item, lambda d=data: AnchorReceipt.from_json(dict(d)))
        item = f"anchor #{i} ({receipt.anchor}, {receipt.chain})"
        line = _guard(
            item, lambda r=receipt: verify_receipt(r, checkpoint, witness_key=witness_key)
        )
        witnessed = witnessed or receipt.anchor == "witness"
        report.ok(f"{item}: {line}")
    if witness_key is not None and not witnessed:
        raise BundleError("anchors: a witness key was given but no witness cosigned the checkpoint")


@dataclass(frozen=True)
class _Batch:
    batch_id: str
    root: bytes
    size: int


def _batches(batches: Sequence[Any], checkpoint: Checkpoint, report: Report) -> dict[str, _Batch]:
    out: dict[str, _Batch] = {}
    for i, batch in enumerate(batches):
        batch_id = str(_get(batch, "batch_id", f"batch #{i}"))
        item = f"batch {batch_id}"
        index = _int(_get(batch, "log_index", item), f"{item} log_index")
        text = _get(batch, "log_entry", item)
        if not isinstance(text, str):
            raise BundleError(f"{item}: log_entry must be the entry's canonical JSON text")
        body = text.encode("utf-8")
        try:
            entry = json.loads(text)
        except ValueError as exc:
            raise BundleError(f"{item}: log_entry is not JSON: {exc}") from exc
        if _guard(item, lambda e=entry: canonical_json(e)) != body:
            raise BundleError(f"{item}: log_entry is not in RFC 8785 canonical form")
        proof = _path(_get(batch, "log_proof", item), f"{item} log_proof")
        _guard(
            f"{item} (log entry {index})",
            lambda b=body, n=index, p=proof: verify_inclusion(
                leaf_hash(b), n, checkpoint.size, p, checkpoint.root_hash
            ),
        )
        if entry.get("kind") != BATCH_EVENT:
            raise BundleError(f"{item}: log entry {index} is a {entry.get('kind')!r} event")
        payload = _get(entry, "payload", item)
        if payload.get("batch_id") != batch_id:
            raise BundleError(
                f"{item}: log entry {index} records batch {payload.get('batch_id')!r}"
            )
        root = _hex32(_get(payload, "merkle_root", item), f"{item} merkle_root")
        size = _int(_get(payload, "records_stored", item), f"{item} records_stored")
        out[batch_id] = _Batch(batch_id, root, size)
        report.ok(
            f"{item}: log entry {index} is in the checkpoint; it logs {size} records "
            f"with root {root.hex()}"
        )
    return out


def _records(records: Sequence[Any], batches: Mapping[str, _Batch], report: Report) -> None:
    for i, record in enumerate(records):
        key = _get(record, "record_key", f"record #{i}")
        table = record.get("table", "?")
        item = f"record #{i} ({table} {key})"
        declared = _hex32(_get(record, "content_hash", item), f"{item} content_hash")
        data = _get(record, "data", item)
        actual = content_hash(_guard(item, lambda d=data: canonical_json(d)))
        if actual != declared:
            raise BundleError(
                f"{item}: its data hashes to {actual.hex()}, not its content hash {declared.hex()}"
            )
        batch_id = str(_get(record, "batch_id", item))
        batch = batches.get(batch_id)
        if batch is None:
            raise BundleError(f"{item}: its batch {batch_id} is not in the bundle")
        proof = _get(record, "batch_proof", item)
        size = _int(_get(proof, "tree_size", item), f"{item} batch_proof.tree_size")
        if size != batch.size:
            raise BundleError(
                f"{item}: its proof is for a batch of {size} records, "
                f"batch {batch_id} logged {batch.size}"
            )
        where = RecordProof(
            _int(_get(proof, "leaf_index", item), f"{item} batch_proof.leaf_index"),
            size,
            tuple(_path(_get(proof, "path", item), f"{item} batch_proof.path")),
        )
        _guard(
            f"{item} in batch {batch_id}",
            lambda d=declared, w=where, r=batch.root: verify_record(d, w, r),
        )
        report.ok(
            f"{item}: data hashes to {declared.hex()}, leaf {where.index} of batch {batch_id}"
        )


def _events(
    events: Sequence[Any], records: Sequence[Any], subject: Mapping[str, Any], report: Report
) -> None:
    for i, event in enumerate(events):
        row = _get(event, "row", f"event #{i}")
        item = f"event #{i} ({row.get('event_id', '?')})"
        position = _int(_get(event, "record", item), f"{item} record")
        if position >= len(records):
            raise BundleError(f"{item}: it names record #{position}, the bundle has {len(records)}")
        record = records[position]
        for column, field_name in LINEAGE.items():
            if row.get(column) != record.get(field_name):
                raise BundleError(
                    f"{item}: {column} {row.get(column)!r} is not the record's "
                    f"{field_name} {record.get(field_name)!r}"
                )
        for key, value in subject.items():
            if key in row and row[key] != value:
                raise BundleError(f"{item}: {key} is {row[key]!r}, the bundle is about {value!r}")
        report.ok(f"{item}: comes from record #{position} (lineage columns match)")


def verify_bundle(
    bundle: Mapping[str, Any], log_key: str, *, witness_key: str | None = None
) -> Report:
    """Check an audit bundle offline with the trusted log verifier key.

    With ``witness_key``, the bundle must carry a cosignature by that witness.
    Raises :class:`BundleError` naming the first item that fails.
    """
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        got = bundle.get("format") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise BundleError(f"format: expected {BUNDLE_FORMAT!r}, got {got!r}")
    report = Report()
    checkpoint = _checkpoint(_get(bundle, "log", "bundle"), log_key, report)
    _anchors(bundle.get("anchors") or [], checkpoint, witness_key, report)
    batches = _batches(_get(bundle, "batches", "bundle"), checkpoint, report)
    records = _get(bundle, "records", "bundle")
    _records(records, batches, report)
    events = _get(bundle, "events", "bundle")
    if not events:
        raise BundleError("events: the bundle holds no event")
    _events(events, records, bundle.get("subject") or {}, report)
    return report


def verify_consistency_document(document: Mapping[str, Any], log_key: str) -> Report:
    """Check both checkpoints' signatures and the consistency proof between them."""
    if document.get("format") != CONSISTENCY_FORMAT:
        raise BundleError(
            f"format: expected {CONSISTENCY_FORMAT!r}, got {document.get('format')!r}"
        )
    report = Report()
    old: Checkpoint = _guard(
        "old checkpoint", lambda: open_checkpoint(str(_get(document, "old", "document")), log_key)
    )
    new: Checkpoint = _guard(
        "new checkpoint",
        lambda: open_checkpoint(str(_get(document, "new", "document")), log_key, origin=old.origin),
    )
    report.ok(f"old checkpoint size {old.size} and new checkpoint size {new.size} are signed")
    proof = _path(_get(document, "proof", "document"), "proof")
    _guard(
        f"consistency {old.size} -> {new.size}",
        lambda: verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof),
    )
    report.ok(
        f"the log at size {new.size} (root {new.root_hash.hex()}) extends the log at size "
        f"{old.size} (root {old.root_hash.hex()}): {len(proof)}-hash proof verifies"
    )
    return report
