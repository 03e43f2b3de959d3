"""The EVM anchor for real: CheckpointAnchor compiled from source, deployed on anvil, anchored."""

from __future__ import annotations

import json
import shutil

import pytest
from anvil_node import Anvil

from ledger.anchors.base import AnchorError
from ledger.anchors.evm import compile as solc
from ledger.anchors.evm.anchor import (
    EvmAnchor,
    anchor_calldata,
    deploy,
    verify_on_chain,
    verify_receipt,
)
from ledger.checkpoint import parse_body, sign_checkpoint
from ledger.hashing import leaf_hash
from ledger.keys import Signer
from ledger.note import split_note

ORIGIN = "orderhub.test/evm"
SIGNER = Signer.generate(ORIGIN)


def note(size: int, root: bytes) -> str:
    return sign_checkpoint(ORIGIN, size, root, SIGNER)


def checkpoint_of(text: str):
    return parse_body(split_note(text)[0])


@pytest.fixture(scope="module")
def contract(anvil: Anvil) -> str:
    return deploy(anvil.url, anvil.keys[0])


def test_committed_artefact_is_the_compiled_source() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is missing: install Node.js (solcjs runs on it)")
    fresh = solc.compile_contract()
    assert solc.render(fresh) == solc.ARTEFACT.read_text(), (
        "CheckpointAnchor.json is stale: run `uv run python -m ledger.anchors.evm.compile`"
    )
    assert fresh["compiler"].startswith("solc 0.8.37+commit.")
    assert {item["name"] for item in fresh["abi"] if item["type"] == "function"} == {
        "anchor",
        "latest",
        "owner",
    }


def test_anchor_records_the_checkpoint_and_the_receipt_verifies(
    anvil: Anvil, contract: str
) -> None:
    anchor = EvmAnchor(anvil.url, contract, anvil.keys[0])
    signed = note(10, leaf_hash(b"ten"))
    receipt = anchor.anchor(signed)
    assert (receipt.anchor, receipt.chain, receipt.tree_size) == ("evm", "evm:31337", 10)
    assert receipt.transaction and receipt.transaction.startswith("0x") and receipt.block
    assert anchor.latest(ORIGIN) == (10, leaf_hash(b"ten"), receipt.block)

    checkpoint = checkpoint_of(signed)
    assert "calls anchor(string,uint64,bytes32)" in verify_receipt(receipt, checkpoint)
    assert f"block {receipt.block}" in verify_on_chain(receipt, anvil.url)
    again = json.loads(json.dumps(receipt.to_json()))  # survives a trip through a bundle
    assert verify_receipt(type(receipt).from_json(again), checkpoint)

    later = anchor.anchor(note(12, leaf_hash(b"twelve")))
    assert later.block > receipt.block
    assert anchor.latest(ORIGIN)[0] == 12
    # the same head again is accepted and keeps its first block
    same = anchor.anchor(note(12, leaf_hash(b"twelve")))
    assert anchor.latest(ORIGIN)[2] == later.block and same.block > later.block


def test_the_contract_refuses_shrinking_forks_and_strangers(anvil: Anvil, contract: str) -> None:
    anchor = EvmAnchor(anvil.url, contract, anvil.keys[0])
    anchor.anchor(note(20, leaf_hash(b"twenty")))
    with pytest.raises(AnchorError, match=r"SizeShrinks\('orderhub.test/evm', 20, 19\)"):
        anchor.anchor(note(19, leaf_hash(b"nineteen")))
    with pytest.raises(AnchorError, match=r"RootConflict\('orderhub.test/evm', 20, "):
        anchor.anchor(note(20, leaf_hash(b"other")))
    stranger = EvmAnchor(anvil.url, contract, anvil.keys[1])
    with pytest.raises(AnchorError, match=r"NotOwner\("):
        stranger.anchor(note(21, leaf_hash(b"twenty-one")))
    assert anchor.latest(ORIGIN)[:2] == (20, leaf_hash(b"twenty"))


def test_forged_receipts_are_refused(anvil: Anvil, contract: str) -> None:
    anchor = EvmAnchor(anvil.url, contract, anvil.keys[0])
    signed = note(30, leaf_hash(b"thirty"))
    receipt = anchor.anchor(signed)
    checkpoint = checkpoint_of(signed)
    data = receipt.to_json()

    def forged(**changes: object) -> object:
        return type(receipt).from_json({**data, **changes})

    other = checkpoint_of(note(31, leaf_hash(b"thirty-one")))
    with pytest.raises(AnchorError, match="not for the checkpoint"):
        verify_receipt(receipt, other)
    with pytest.raises(AnchorError, match="hashes to"):
        verify_receipt(forged(transaction="0x" + "11" * 32), checkpoint)
    with pytest.raises(AnchorError, match="not by"):
        verify_receipt(forged(details={**data["details"], "from": "0x" + "22" * 20}), checkpoint)
    with pytest.raises(AnchorError, match="not the contract"):
        verify_receipt(
            forged(details={**data["details"], "contract": "0x" + "33" * 20}), checkpoint
        )
    # a real transaction of this contract that anchors another checkpoint
    wrong = anchor.anchor(note(32, leaf_hash(b"thirty-two"))).to_json()
    swapped = {**wrong, "tree_size": 30, "root_hash": checkpoint.root_hash.hex()}
    with pytest.raises(AnchorError, match="not anchor\\(origin, size, root\\) of this checkpoint"):
        verify_receipt(type(receipt).from_json(swapped), checkpoint)
    with pytest.raises(AnchorError, match="not in block"):
        verify_on_chain(forged(block=1), anvil.url)
    assert anchor_calldata(checkpoint)[:4].hex() == "d0ee1f22"


def test_a_contract_that_is_not_checkpoint_anchor_is_refused(anvil: Anvil) -> None:
    with pytest.raises(AnchorError, match="is not the committed CheckpointAnchor"):
        EvmAnchor(anvil.url, "0x" + "44" * 20, anvil.keys[0])
    with pytest.raises(AnchorError, match="does not answer"):
        EvmAnchor("http://127.0.0.1:9", "0x" + "44" * 20, anvil.keys[0], timeout=2)
