"""The witness anchor over a real log: cosigns each checkpoint; receipts verify offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.anchors import verify_receipt
from ledger.anchors.base import AnchorError, AnchorReceipt
from ledger.anchors.witness import WitnessAnchor
from ledger.checkpoint import parse_body
from ledger.cosignature import Cosigner
from ledger.keys import Signer
from ledger.kinds import EventKinds
from ledger.log import ProvenanceLog
from ledger.note import split_note
from ledger.receipts import ANCHOR_EVENT, ANCHOR_EVENT_FIELDS
from ledger.witness import Witness

ORIGIN = "orderhub.test/witnessed"
SIGNER = Signer.generate(ORIGIN)
KINDS = EventKinds({"publish": (), ANCHOR_EVENT: ANCHOR_EVENT_FIELDS})


@pytest.fixture
def log(db_url: str) -> Iterator[ProvenanceLog]:
    with ProvenanceLog(db_url, ORIGIN, SIGNER, kinds=KINDS) as opened:
        yield opened


def test_each_checkpoint_is_cosigned_after_a_consistency_check(
    log: ProvenanceLog, tmp_path: Path
) -> None:
    cosigner = Cosigner.generate("witness.test/w")
    witness = Witness(cosigner, [SIGNER.verifier_key()], tmp_path / "state.json")
    anchor = WitnessAnchor(witness, log.consistency_proof)
    receipts: list[AnchorReceipt] = []
    for batch in (3, 1, 9):
        log.append_events([("publish", {"i": i}) for i in range(batch)])
        signed = log.checkpoint()
        receipt = anchor.anchor(signed.note)
        checkpoint = parse_body(split_note(signed.note)[0])
        text = verify_receipt(receipt, checkpoint, witness_key=cosigner.verifier_key())
        assert text.startswith("cosignature/v1 by witness.test/w")
        receipts.append(receipt)
    assert [r.details["previous_size"] for r in receipts] == [0, 3, 4]
    assert witness.latest(ORIGIN)[0] == 13

    stranger = Cosigner.generate("witness.test/w").verifier_key()
    with pytest.raises(AnchorError, match=r"not cosigned by .*, the trusted witness key"):
        verify_receipt(receipts[-1], checkpoint, witness_key=stranger)
    # a receipt naming another key, with that key's cosignature, is refused with the trusted
    # key: the key named inside a receipt is never used when a key is trusted
    impostor = Cosigner.generate("witness.test/w")
    line = impostor.cosign(checkpoint.body(), receipts[-1].details["timestamp"])
    swapped = AnchorReceipt.from_json(
        {
            **receipts[-1].to_json(),
            "details": {
                **receipts[-1].details,
                "verifier_key": impostor.verifier_key(),
                "cosignature": line,
            },
        }
    )
    assert "the key named in the receipt" in verify_receipt(swapped, checkpoint)
    with pytest.raises(AnchorError, match="the trusted witness key"):
        verify_receipt(swapped, checkpoint, witness_key=cosigner.verifier_key())
    forged = AnchorReceipt.from_json(
        {**receipts[-1].to_json(), "details": {**receipts[-1].details, "timestamp": 5}}
    )
    with pytest.raises(AnchorError, match="the receipt says 5"):
        verify_receipt(forged, checkpoint)
    with pytest.raises(AnchorError, match="not for the checkpoint"):
        verify_receipt(receipts[0], checkpoint)


def test_a_witness_ahead_of_the_checkpoint_refuses(log: ProvenanceLog, tmp_path: Path) -> None:
    witness = Witness(Cosigner.generate("w.test/a"), [SIGNER.verifier_key()], tmp_path / "s.json")
    anchor = WitnessAnchor(witness, log.consistency_proof)
    log.append_events([("publish", {"i": i}) for i in range(2)])
    old = log.checkpoint()
    log.append_event("publish", {"i": 2})
    anchor.anchor(log.checkpoint().note)
    with pytest.raises(AnchorError, match="already cosigned size 3"):
        anchor.anchor(old.note)
