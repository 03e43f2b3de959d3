"""The Fabric anchor over the Gateway gRPC protocol, against an in-process gateway stub.

No Fabric network runs here (it needs Docker): the client speaks the real Gateway
protocol messages to ``gateway_stub.GatewayServer`` on 127.0.0.1, which checks the
signatures and transaction ids a gateway peer checks. The chaincode's own rules run
under ``node --test`` on the same vectors as the stub.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gateway_stub import GatewayServer

from ledger.anchors.base import AnchorError, AnchorReceipt
from ledger.anchors.fabric.anchor import FabricAnchor, verify_receipt
from ledger.anchors.fabric.gateway import GatewayClient
from ledger.anchors.fabric.identity import Identity, verify_signature
from ledger.anchors.fabric.messages import build_proposal, read_proposal, transaction_id
from ledger.checkpoint import parse_body, sign_checkpoint
from ledger.hashing import leaf_hash
from ledger.keys import Signer
from ledger.note import split_note

ORIGIN = "orderhub.test/fabric"
SIGNER = Signer.generate(ORIGIN)
CHAINCODE = Path(__file__).resolve().parents[3] / "ledger" / "anchors" / "fabric" / "chaincode"
VECTORS = json.loads((CHAINCODE / "test" / "vectors.json").read_text())


@pytest.fixture(scope="module")
def identity() -> Identity:
    return Identity.generate("Org1MSP", "orderhub-anchor")


def client(gateway: GatewayServer, identity: Identity, **kwargs: Any) -> GatewayClient:
    return GatewayClient(gateway.target, identity, "orderhub", "checkpoint-anchor", **kwargs)


def note(size: int, root: bytes) -> str:
    return sign_checkpoint(ORIGIN, size, root, SIGNER)


def test_proposal_fields_and_transaction_id(identity: Identity) -> None:
    tx_id, signed = build_proposal(
        identity, "orderhub", "checkpoint-anchor", [b"Anchor", b"o", b"1", b"ab"], nonce=b"n" * 24
    )
    view = read_proposal(signed.proposal_bytes)
    assert (view.tx_id, view.channel, view.chaincode) == (tx_id, "orderhub", "checkpoint-anchor")
    assert view.args == (b"Anchor", b"o", b"1", b"ab")
    assert tx_id == transaction_id(b"n" * 24, identity.serialized()) == view.tx_id
    verify_signature(view.creator, signed.proposal_bytes, signed.signature)
    with pytest.raises(AnchorError, match="does not verify"):
        verify_signature(view.creator, signed.proposal_bytes + b"x", signed.signature)


def test_anchor_submits_endorses_commits_and_the_receipt_verifies(
    gateway: GatewayServer, identity: Identity
) -> None:
    anchor = FabricAnchor(client(gateway, identity))
    signed = note(10, leaf_hash(b"ten"))
    receipt = anchor.anchor(signed)
    assert gateway.stub.calls == ["Endorse", "Submit", "CommitStatus"]
    assert (receipt.anchor, receipt.chain, receipt.block) == ("fabric", "fabric:orderhub", 1)
    assert receipt.details["msp_id"] == "Org1MSP"
    assert json.loads(receipt.details["result"])["size"] == "10"
    assert anchor.latest(ORIGIN) == {
        "origin": ORIGIN,
        "size": "10",
        "root": leaf_hash(b"ten").hex(),
        "txId": receipt.transaction,
    }
    checkpoint = parse_body(split_note(signed)[0])
    assert "signed by Org1MSP" in verify_receipt(receipt, checkpoint)
    round_trip = AnchorReceipt.from_json(json.loads(json.dumps(receipt.to_json())))
    verify_receipt(round_trip, checkpoint)

    later = anchor.anchor(note(11, leaf_hash(b"eleven")))
    assert later.block == 2 and anchor.latest(ORIGIN)["size"] == "11"  # type: ignore[index]


def test_the_chaincode_refusals_come_back_named(gateway: GatewayServer, identity: Identity) -> None:
    anchor = FabricAnchor(client(gateway, identity))
    anchor.anchor(note(10, leaf_hash(b"ten")))
    with pytest.raises(AnchorError, match=r"Endorse failed: ABORTED: .*SizeShrinks") as info:
        anchor.anchor(note(9, leaf_hash(b"nine")))
    assert f"PeerOrgMSP@{gateway.target}" in str(info.value), "the gateway's ErrorDetail"
    with pytest.raises(AnchorError, match="RootConflict"):
        anchor.anchor(note(10, leaf_hash(b"other")))
    assert gateway.stub.state[ORIGIN]["size"] == "10"


def test_the_gateway_refuses_a_forged_identity(gateway: GatewayServer, identity: Identity) -> None:
    other = Identity.generate("Org1MSP", "impostor")
    forged = Identity(identity.msp_id, identity.certificate_pem, other.private_key)
    with pytest.raises(AnchorError, match="PERMISSION_DENIED: proposal refused"):
        FabricAnchor(client(gateway, forged)).anchor(note(1, leaf_hash(b"one")))
    wrong_channel = GatewayClient(gateway.target, identity, "elsewhere", "checkpoint-anchor")
    with pytest.raises(AnchorError, match="NOT_FOUND: channel elsewhere"):
        FabricAnchor(wrong_channel).anchor(note(1, leaf_hash(b"one")))


def test_a_concurrent_writer_makes_the_commit_invalid(
    gateway: GatewayServer, identity: Identity
) -> None:
    """MVCC: the key changed between endorsement and commit, so the peer marks it invalid."""
    other = FabricAnchor(client(gateway, Identity.generate("Org2MSP", "other-writer")))
    raced: list[str] = []

    def another_writer_commits_first(tx_id: str) -> None:
        if not raced:
            raced.append(tx_id)
            other.anchor(note(6, leaf_hash(b"six")))  # endorsed and committed meanwhile

    gateway.stub.on_endorsed = another_writer_commits_first
    with pytest.raises(AnchorError, match="committed invalid \\(MVCC_READ_CONFLICT\\)"):
        FabricAnchor(client(gateway, identity)).anchor(note(5, leaf_hash(b"five")))
    assert gateway.stub.state[ORIGIN]["size"] == "6", "the loser changed nothing"


def test_forged_receipts_are_refused(gateway: GatewayServer, identity: Identity) -> None:
    anchor = FabricAnchor(client(gateway, identity))
    signed = note(20, leaf_hash(b"twenty"))
    receipt = anchor.anchor(signed).to_json()
    checkpoint = parse_body(split_note(signed)[0])

    def refused(match: str, **changes: Any) -> None:
        with pytest.raises(AnchorError, match=match):
            verify_receipt(AnchorReceipt.from_json({**receipt, **changes}), checkpoint)

    refused("the receipt says", transaction="00" * 32)
    refused("receipt names", details={**receipt["details"], "channel": "other"})
    bad_sig = base64.b64encode(identity.sign(b"something else")).decode()
    refused("does not verify", details={**receipt["details"], "proposal_signature": bad_sig})
    other = anchor.anchor(note(21, leaf_hash(b"twenty-one"))).to_json()
    refused("the receipt says", details=other["details"])
    swapped = {**other, "tree_size": 20, "root_hash": checkpoint.root_hash.hex()}
    with pytest.raises(AnchorError, match="not \\('Anchor'"):
        verify_receipt(AnchorReceipt.from_json(swapped), checkpoint)


@pytest.mark.parametrize("vector", VECTORS["cases"], ids=lambda v: v["name"])
def test_stub_follows_the_chaincode_vectors(
    gateway: GatewayServer, identity: Identity, vector: dict[str, Any]
) -> None:
    with client(gateway, identity) as gw:
        for i, step in enumerate(vector["steps"]):
            before = dict(gateway.stub.state)
            try:
                gw.submit("Anchor", *step["args"])
                outcome = "ok" if gateway.stub.state != before else "unchanged"
            except AnchorError as exc:
                outcome = str(exc).split("chaincode response 500, ")[1].split(":")[0]
            assert outcome == step["expect"], f"step {i} of {vector['name']}"


def test_chaincode_rules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js (the chaincode is Node)")
    done = subprocess.run(
        [node, "--test", "test/"], cwd=CHAINCODE, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"# pass {len(VECTORS['cases'])}" in done.stdout
