"""A bundle's anchor receipts, checked with only the witness keys the auditor trusts.

A witness receipt names the witness's verifier key, and anyone can write a receipt that
names their own key and carries their own cosignature. So the key named inside a receipt
is never used: a witness receipt is checked with the trusted witness keys the auditor
gives (``--witness-key``), each of which must have cosigned the checkpoint (C2SP
``cosignature/v1``: the line's key id, its 8-byte timestamp and its Ed25519 signature
over ``cosignature/v1``, ``time <timestamp>`` and the checkpoint body). A receipt by a
witness the auditor does not trust, and every witness receipt when no key is given, is
listed as not checked. EVM and Fabric receipts are checked as their modules check them
(:func:`ledger.anchors.verify_receipt`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.anchors import AnchorError, AnchorReceipt, verify_receipt
from ledger.bundle.checks import guard
from ledger.bundle.format import BundleError, Report
from ledger.checkpoint import Checkpoint
from ledger.cosignature import CosignatureVerifier
from ledger.errors import CheckpointError
from ledger.note import split_note


def _cosigner(receipt: AnchorReceipt, checkpoint: Checkpoint) -> str:
    """``name+keyid`` of the cosignature line a witness receipt carries."""
    try:
        line = str(receipt.details["cosignature"])
        _, signatures = split_note(checkpoint.body() + "\n" + line)
    except (KeyError, CheckpointError) as exc:
        raise AnchorError(f"witness receipt has no readable cosignature line ({exc})") from exc
    if len(signatures) != 1:
        raise AnchorError("a witness receipt's cosignature is one signature line")
    return f"{signatures[0].name}+{signatures[0].key_id.hex()}"


def _id(key: CosignatureVerifier) -> str:
    return f"{key.name}+{key.key_id.hex()}"


def check_anchors(
    receipts: Sequence[Any], checkpoint: Checkpoint, witness_keys: Sequence[str], report: Report
) -> None:
    """Check every receipt; each trusted witness key must have cosigned ``checkpoint``."""
    trusted = {}
    for text in witness_keys:
        key = guard("witness key", lambda t=text: CosignatureVerifier.from_text(t))
        trusted[_id(key)] = key
    cosigned: set[str] = set()
    others: list[str] = []
    for i, data in enumerate(receipts):
        item = f"anchor #{i}"
        receipt = guard(item, lambda d=data: AnchorReceipt.from_json(dict(d)))
        item = f"anchor #{i} ({receipt.anchor}, {receipt.chain})"
        if receipt.anchor != "witness":
            report.ok(f"{item}: {guard(item, lambda r=receipt: verify_receipt(r, checkpoint))}")
            continue
        guard(item, lambda r=receipt: r.check_names(checkpoint))
        by = guard(item, lambda r=receipt: _cosigner(r, checkpoint))
        if by not in trusted:
            others.append(f"{item} is cosigned by {by}")
            why = "not a trusted witness key" if trusted else "no witness key is trusted"
            report.ok(f"{item}: not checked - cosigned by {by}, {why} (--witness-key)")
            continue
        line = guard(
            item,
            lambda r=receipt, k=trusted[by]: verify_receipt(r, checkpoint, witness_key=str(k)),
        )
        cosigned.add(by)
        report.ok(f"{item}: {line}")
    for name in trusted:
        if name not in cosigned:
            seen = f" ({'; '.join(others)})" if others else ""
            raise BundleError(
                f"anchors: no receipt is cosigned by the trusted witness key {name}{seen}"
            )
