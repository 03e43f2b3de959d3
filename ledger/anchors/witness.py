"""The witness anchor: a second key cosigns each checkpoint after checking consistency.

:class:`WitnessAnchor` asks a :class:`~ledger.witness.Witness` to cosign the
checkpoint, handing it the consistency proof from the size it last cosigned
(read from the log's stored nodes). The receipt carries the ``cosignature/v1``
line, so anyone with the witness's verifier key can check it offline:
:func:`verify_receipt`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ledger.anchors.base import AnchorError, AnchorReceipt
from ledger.checkpoint import Checkpoint, parse_body
from ledger.cosignature import CosignatureVerifier
from ledger.errors import CheckpointError, UnknownKeyError
from ledger.note import split_note
from ledger.witness import Witness, WitnessConflictError

KIND = "witness"

ConsistencyProof = Callable[[int, int], Sequence[bytes]]


class WitnessAnchor:
    """Anchors checkpoints with a witness's cosignature."""

    kind = KIND

    def __init__(self, witness: Witness, consistency_proof: ConsistencyProof) -> None:
        self.witness = witness
        self.consistency_proof = consistency_proof

    def anchor(self, note: str) -> AnchorReceipt:
        checkpoint = parse_body(split_note(note)[0])
        for _ in range(3):  # another caller may cosign in between: retry from its size
            old, _root = self.witness.latest(checkpoint.origin)
            if old > checkpoint.size:
                raise AnchorError(
                    f"the witness already cosigned size {old} of {checkpoint.origin}, "
                    f"larger than this checkpoint ({checkpoint.size})"
                )
            proof = list(self.consistency_proof(old, checkpoint.size))
            try:
                cosigned = self.witness.add_checkpoint(note, old, proof)
            except WitnessConflictError:
                continue
            break
        else:
            raise AnchorError("the witness kept moving under concurrent cosigning; try again")
        cosigner = self.witness.cosigner
        return AnchorReceipt.for_checkpoint(
            KIND,
            checkpoint,
            chain=f"witness:{cosigner.name}",
            anchored_at=datetime.fromtimestamp(cosigned.timestamp, UTC),
            details={
                "witness": cosigner.name,
                "verifier_key": cosigner.verifier_key(),
                "cosignature": cosigned.line,
                "timestamp": cosigned.timestamp,
                "previous_size": old,
            },
        )


def verify_receipt(
    receipt: AnchorReceipt, checkpoint: Checkpoint, *, trusted_key: str | None = None
) -> str:
    """Check the witness's cosignature on ``checkpoint``; return what was checked.

    With ``trusted_key`` the cosignature is checked with that key alone: the key the
    receipt names is never used, so a receipt that names another key and carries that
    key's cosignature is refused. Without it, with the key the receipt names - which
    proves only that the receipt is coherent, not who cosigned (an audit bundle is
    never checked that way: :mod:`ledger.bundle.witnesses`).
    """
    receipt.check_names(checkpoint)
    details: dict[str, Any] = receipt.details
    try:
        key_text = trusted_key if trusted_key is not None else str(details["verifier_key"])
        line = str(details["cosignature"])
        timestamp = int(details["timestamp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AnchorError(f"witness receipt lacks {exc}") from exc
    try:
        verifier = CosignatureVerifier.from_text(key_text)
        signed_at = verifier.verify(checkpoint.body() + "\n" + line)
    except UnknownKeyError as exc:
        raise AnchorError(
            f"witness receipt is not cosigned by {verifier.name}+{verifier.key_id.hex()}"
            + (", the trusted witness key" if trusted_key is not None else "")
            + f" ({exc})"
        ) from exc
    except CheckpointError as exc:
        raise AnchorError(f"witness cosignature: {exc}") from exc
    if signed_at != timestamp:
        raise AnchorError(
            f"witness cosignature is timestamped {signed_at}, the receipt says {timestamp}"
        )
    trust = "the trusted witness key" if trusted_key else "the key named in the receipt"
    return f"cosignature/v1 by {verifier.name} at {timestamp} verifies with {trust}"
