"""Anchors: where signed checkpoints are recorded outside the log operator's control.

One interface (:class:`~ledger.anchors.base.Anchor`: ``anchor(note) -> AnchorReceipt``)
and one module per kind:

- ``witness`` (:mod:`ledger.anchors.witness`): a second key cosigns the checkpoint
  (C2SP ``cosignature/v1``) after checking consistency with the last one it cosigned;
- ``evm`` (:mod:`ledger.anchors.evm.anchor`): the ``CheckpointAnchor`` contract, via web3.py;
- ``fabric`` (:mod:`ledger.anchors.fabric.anchor`): the ``checkpoint-anchor`` chaincode,
  via the Fabric Gateway gRPC protocol.

:func:`verify_receipt` checks a receipt offline with the module of its kind (imported
only when needed: web3 and gRPC are not loaded to check a witness cosignature).
"""

from __future__ import annotations

from ledger.anchors.base import Anchor, AnchorError, AnchorReceipt
from ledger.checkpoint import Checkpoint

KINDS = ("witness", "evm", "fabric")


def verify_receipt(
    receipt: AnchorReceipt, checkpoint: Checkpoint, *, witness_key: str | None = None
) -> str:
    """Check ``receipt`` against ``checkpoint`` offline; return what was checked.

    Raises :class:`AnchorError` naming what does not hold.
    """
    if receipt.anchor == "witness":
        from ledger.anchors import witness

        return witness.verify_receipt(receipt, checkpoint, trusted_key=witness_key)
    if receipt.anchor == "evm":
        from ledger.anchors.evm import anchor as evm

        return evm.verify_receipt(receipt, checkpoint)
    if receipt.anchor == "fabric":
        from ledger.anchors.fabric import anchor as fabric

        return fabric.verify_receipt(receipt, checkpoint)
    raise AnchorError(f"unknown anchor kind {receipt.anchor!r} (known: {', '.join(KINDS)})")


__all__ = ["KINDS", "Anchor", "AnchorError", "AnchorReceipt", "verify_receipt"]
