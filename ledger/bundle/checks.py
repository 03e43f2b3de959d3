"""What every part of the bundle verifier checks alike: hex hashes, proofs, integers,
fields that must be present, and a log entry proved into the checkpoint.

Each helper raises :class:`~ledger.bundle.format.BundleError` with a message that starts
with the item it was checking (``batch b-1``, ``record #2 (raw_erp.sales_orders SO-1)``,
``build``), which is what ``orderhub audit verify`` prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.anchors import AnchorError
from ledger.bundle.format import BundleError
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint
from ledger.errors import CanonicalJSONError, CheckpointError, ProofError
from ledger.hashing import HASH_SIZE, leaf_hash
from ledger.proofs import verify_inclusion


def hex32(value: Any, item: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        raise BundleError(f"{item}: {value!r} is not hex") from None
    if len(raw) != HASH_SIZE:
        raise BundleError(f"{item}: a hash has {HASH_SIZE} bytes, not {len(raw)}")
    return raw


def path(values: Any, item: str) -> list[bytes]:
    if not isinstance(values, list):
        raise BundleError(f"{item}: the proof must be a list of hex hashes")
    return [hex32(v, f"{item} hash #{i}") for i, v in enumerate(values)]


def get(obj: Any, key: str, item: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise BundleError(f"{item}: missing {key!r}")
    return obj[key]


def non_negative(value: Any, item: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BundleError(f"{item}: {value!r} is not a non-negative integer")
    return value


def guard(item: str, check: Callable[[], Any]) -> Any:
    """Run ``check``; turn a ledger refusal into a BundleError naming ``item``."""
    try:
        return check()
    except BundleError:
        raise
    except (ProofError, CheckpointError, AnchorError, CanonicalJSONError) as exc:
        raise BundleError(f"{item}: {exc}") from exc


@dataclass(frozen=True)
class LoggedEntry:
    """A log entry a bundle proved into the checkpoint: where it is, what it says."""

    index: int
    entry: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.entry.get("payload")
        return payload if isinstance(payload, dict) else {}


def logged_entry(
    holder: Mapping[str, Any], checkpoint: Checkpoint, kind: str, item: str
) -> LoggedEntry:
    """The entry ``holder`` carries (``log_index``, ``log_entry`` as its exact RFC 8785
    text, ``log_proof``), checked into the checkpoint's tree and of kind ``kind``."""
    index = non_negative(get(holder, "log_index", item), f"{item} log_index")
    text = get(holder, "log_entry", item)
    if not isinstance(text, str):
        raise BundleError(f"{item}: log_entry must be the entry's canonical JSON text")
    body = text.encode("utf-8")
    try:
        entry = json.loads(text)
    except ValueError as exc:
        raise BundleError(f"{item}: log_entry is not JSON: {exc}") from exc
    if guard(item, lambda: canonical_json(entry)) != body:
        raise BundleError(f"{item}: log_entry is not in RFC 8785 canonical form")
    proof = path(get(holder, "log_proof", item), f"{item} log_proof")
    guard(
        f"{item} (log entry {index})",
        lambda: verify_inclusion(
            leaf_hash(body), index, checkpoint.size, proof, checkpoint.root_hash
        ),
    )
    if not isinstance(entry, dict) or entry.get("kind") != kind:
        got = entry.get("kind") if isinstance(entry, dict) else None
        raise BundleError(f"{item}: log entry {index} is a {got!r} event, not {kind!r}")
    if not isinstance(entry.get("payload"), dict):
        raise BundleError(f"{item}: log entry {index} has no payload")
    return LoggedEntry(index, entry)
