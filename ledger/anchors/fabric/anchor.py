"""The Hyperledger Fabric anchor: checkpoints recorded by the ``checkpoint-anchor`` chaincode.

:class:`FabricAnchor` submits ``Anchor(origin, size, root hex)`` through the
Fabric Gateway (:mod:`ledger.anchors.fabric.gateway`); the chaincode
(``ledger/anchors/fabric/chaincode``) keeps per origin the latest head and
refuses a shrinking size or a second root for a size.

The receipt carries the signed proposal, so an auditor checks offline
(:func:`verify_receipt`) that the transaction id is ``SHA-256(nonce || creator)``
of that proposal, that the creator's certificate signed it, and that it invokes
``Anchor`` on the named channel and chaincode with exactly this checkpoint. That
the transaction is in the block the receipt names needs the channel's ledger
(a peer's ``qscc GetTransactionByID``), which no offline check can replace.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from ledger.anchors.base import AnchorError, AnchorReceipt
from ledger.anchors.fabric.gateway import GatewayClient
from ledger.anchors.fabric.identity import parse_creator, verify_signature
from ledger.anchors.fabric.messages import read_proposal, transaction_id
from ledger.checkpoint import Checkpoint, parse_body
from ledger.note import split_note

KIND = "fabric"
ANCHOR_FUNCTION = "Anchor"
LATEST_FUNCTION = "Latest"


def anchor_args(checkpoint: Checkpoint) -> tuple[str, str, str]:
    """The string arguments of ``Anchor`` for ``checkpoint``: origin, size, root (hex)."""
    return checkpoint.origin, str(checkpoint.size), checkpoint.root_hash.hex()


class FabricAnchor:
    """Anchors checkpoints on a Fabric channel through a gateway."""

    kind = KIND

    def __init__(self, client: GatewayClient) -> None:
        self.client = client

    def latest(self, origin: str) -> dict[str, object] | None:
        """The chaincode's latest head for ``origin``, or None."""
        raw = self.client.evaluate(LATEST_FUNCTION, origin)
        return json.loads(raw) if raw else None

    def anchor(self, note: str) -> AnchorReceipt:
        checkpoint = parse_body(split_note(note)[0])
        done = self.client.submit(ANCHOR_FUNCTION, *anchor_args(checkpoint))
        view = read_proposal(done.proposal_bytes)
        msp_id, _ = parse_creator(view.creator)
        return AnchorReceipt.for_checkpoint(
            KIND,
            checkpoint,
            chain=f"fabric:{self.client.channel}",
            transaction=done.tx_id,
            block=done.block_number,
            anchored_at=datetime.now(UTC),
            details={
                "channel": self.client.channel,
                "chaincode": self.client.chaincode,
                "msp_id": msp_id,
                "gateway": self.client.target,
                "result": done.result.decode("utf-8", "replace"),
                "proposal": base64.b64encode(done.proposal_bytes).decode(),
                "proposal_signature": base64.b64encode(done.proposal_signature).decode(),
            },
        )


def verify_receipt(receipt: AnchorReceipt, checkpoint: Checkpoint) -> str:
    """Check offline that the receipt's signed proposal anchors exactly ``checkpoint``."""
    receipt.check_names(checkpoint)
    details = receipt.details
    try:
        proposal = base64.b64decode(str(details["proposal"]), validate=True)
        signature = base64.b64decode(str(details["proposal_signature"]), validate=True)
        channel, chaincode = str(details["channel"]), str(details["chaincode"])
    except (KeyError, ValueError) as exc:
        raise AnchorError(f"Fabric receipt lacks or mangles {exc}") from exc
    view = read_proposal(proposal)
    if view.tx_id != receipt.transaction:
        raise AnchorError(
            f"Fabric proposal is transaction {view.tx_id}, the receipt says {receipt.transaction}"
        )
    if transaction_id(view.nonce, view.creator) != view.tx_id:
        raise AnchorError(f"Fabric transaction id {view.tx_id} is not SHA-256(nonce || creator)")
    if (view.channel, view.chaincode) != (channel, chaincode) or receipt.chain != (
        f"fabric:{channel}"
    ):
        raise AnchorError(
            f"Fabric proposal is for {view.chaincode} on {view.channel}, the receipt names "
            f"{chaincode} on {channel} ({receipt.chain})"
        )
    wanted = (ANCHOR_FUNCTION, *anchor_args(checkpoint))
    if tuple(a.decode("utf-8", "replace") for a in view.args) != wanted:
        raise AnchorError(f"Fabric proposal invokes {view.args!r}, not {wanted!r}")
    verify_signature(view.creator, proposal, signature)
    msp_id, cert = parse_creator(view.creator)
    return (
        f"transaction {view.tx_id} on {channel}/{chaincode}, block {receipt.block}: proposal "
        f"signed by {msp_id} ({cert.subject.rfc4514_string()}) anchors this checkpoint"
    )
