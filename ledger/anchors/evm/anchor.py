"""The EVM anchor: checkpoints recorded by the ``CheckpointAnchor`` contract, through web3.py.

``CheckpointAnchor.sol`` (committed with its ABI and bytecode, compiled by
:mod:`ledger.anchors.evm.compile`) keeps per log origin the latest
``(size, root)`` and reverts on a shrinking size or a second root for a size.
:class:`EvmAnchor` sends ``anchor(origin, size, root)`` as an EIP-1559
transaction signed locally with the anchoring key and waits for its receipt.

The anchor receipt carries the signed raw transaction, so an auditor can check
offline (:func:`verify_receipt`) that its hash is the transaction hash, that the
key named as sender signed it, and that it calls ``anchor`` on the contract with
exactly this checkpoint; :func:`verify_on_chain` then asks a node that the
transaction succeeded in the block the receipt names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import eth_abi
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception

from ledger.anchors.base import AnchorError, AnchorReceipt
from ledger.anchors.evm.compile import load_artefact
from ledger.checkpoint import Checkpoint, parse_body
from ledger.note import split_note

KIND = "evm"
#: The contract function every anchoring transaction calls.
ANCHOR_SIGNATURE = "anchor(string,uint64,bytes32)"
ANCHOR_SELECTOR = keccak(text=ANCHOR_SIGNATURE)[:4]
#: Gas limit over the node's estimate (storage costs differ between blocks).
GAS_MARGIN = 1.25


@cache
def artefact() -> dict[str, Any]:
    """The committed ABI and bytecode of ``CheckpointAnchor``."""
    return load_artefact()


def anchor_calldata(checkpoint: Checkpoint) -> bytes:
    """The calldata of ``anchor(origin, size, root)`` for ``checkpoint``."""
    return ANCHOR_SELECTOR + eth_abi.encode(
        ["string", "uint64", "bytes32"],
        [checkpoint.origin, checkpoint.size, checkpoint.root_hash],
    )


def _errors() -> dict[bytes, tuple[str, list[str]]]:
    out = {}
    for item in artefact()["abi"]:
        if item["type"] == "error":
            types = [i["type"] for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            out[selector] = (item["name"], types)
    return out


def explain_revert(exc: BaseException) -> str:
    """A contract revert as ``Name(arg, ...)``, decoded with the ABI's custom errors."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        raw = bytes.fromhex(data[2:])
        known = _errors().get(raw[:4])
        if known is not None:
            name, types = known
            args = eth_abi.decode(types, raw[4:])
            shown = [a.hex() if isinstance(a, bytes) else repr(a) for a in args]
            return f"{name}({', '.join(shown)})"
    return str(exc)


def _connect(rpc_url: str, timeout: float) -> tuple[Web3, int]:
    """The node at ``rpc_url`` and its chain id (asked now: fails, naming the node, if it
    does not answer)."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        chain_id = int(w3.eth.chain_id)
    except (OSError, Web3Exception) as exc:
        raise AnchorError(f"the EVM node at {rpc_url} does not answer: {exc}") from exc
    return w3, chain_id


def deploy(rpc_url: str, private_key: str, *, timeout: float = 120.0) -> str:
    """Deploy ``CheckpointAnchor`` from the account of ``private_key``; return its address."""
    w3, chain_id = _connect(rpc_url, timeout)
    account = Account.from_key(private_key)
    factory = w3.eth.contract(abi=artefact()["abi"], bytecode=artefact()["bytecode"])
    tx = factory.constructor().build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": chain_id,
        }
    )
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1 or not receipt.get("contractAddress"):
        raise AnchorError(f"deploying CheckpointAnchor failed in transaction {tx_hash.hex()}")
    return str(receipt["contractAddress"])


class EvmAnchor:
    """Anchors checkpoints in a deployed ``CheckpointAnchor`` contract."""

    kind = KIND

    def __init__(
        self, rpc_url: str, contract_address: str, private_key: str, *, timeout: float = 120.0
    ) -> None:
        self.rpc_url = rpc_url
        self.timeout = timeout
        self.w3, self.chain_id = _connect(rpc_url, timeout)
        self.account = Account.from_key(private_key)
        self.address = to_checksum_address(contract_address)
        code = self.w3.eth.get_code(self.address)
        if bytes(code) != bytes.fromhex(artefact()["deployed_bytecode"][2:]):
            raise AnchorError(
                f"the contract at {self.address} on {rpc_url} is not the committed "
                "CheckpointAnchor (its runtime bytecode differs)"
            )
        self.contract = self.w3.eth.contract(address=self.address, abi=artefact()["abi"])

    def latest(self, origin: str) -> tuple[int, bytes, int]:
        """The contract's latest ``(size, root, block)`` for ``origin``."""
        size, root, block = self.contract.functions.latest(origin).call()
        return int(size), bytes(root), int(block)

    def anchor(self, note: str) -> AnchorReceipt:
        checkpoint = parse_body(split_note(note)[0])
        call = self.contract.functions.anchor(
            checkpoint.origin, checkpoint.size, checkpoint.root_hash
        )
        try:
            tx = call.build_transaction(
                {
                    "from": self.account.address,
                    "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                    "chainId": self.chain_id,
                }
            )
        except (ContractCustomError, ContractLogicError) as exc:
            raise AnchorError(
                f"CheckpointAnchor at {self.address} refuses size {checkpoint.size} of "
                f"{checkpoint.origin}: {explain_revert(exc)}"
            ) from exc
        except (Web3Exception, ValueError) as exc:
            raise AnchorError(
                f"cannot prepare the anchoring transaction from {self.account.address}: {exc}"
            ) from exc
        tx["gas"] = int(tx["gas"] * GAS_MARGIN)  # the estimate ran on another block
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout)
        if receipt["status"] != 1:
            raise AnchorError(f"anchoring transaction {tx_hash.to_0x_hex()} reverted")
        block = self.w3.eth.get_block(receipt["blockNumber"])
        return AnchorReceipt.for_checkpoint(
            KIND,
            checkpoint,
            chain=f"evm:{self.chain_id}",
            transaction=tx_hash.to_0x_hex(),
            block=int(receipt["blockNumber"]),
            anchored_at=datetime.fromtimestamp(int(block["timestamp"]), UTC),
            details={
                "chain_id": self.chain_id,
                "contract": self.address,
                "from": self.account.address,
                "block_hash": receipt["blockHash"].to_0x_hex(),
                "function": ANCHOR_SIGNATURE,
                "raw_transaction": "0x" + bytes(signed.raw_transaction).hex(),
            },
        )


def verify_receipt(receipt: AnchorReceipt, checkpoint: Checkpoint) -> str:
    """Check offline that the receipt's transaction anchors exactly ``checkpoint``."""
    receipt.check_names(checkpoint)
    details = receipt.details
    try:
        raw = bytes.fromhex(str(details["raw_transaction"]).removeprefix("0x"))
        contract = to_checksum_address(str(details["contract"]))
        sender = to_checksum_address(str(details["from"]))
        chain_id = int(details["chain_id"])
    except (KeyError, ValueError) as exc:
        raise AnchorError(f"EVM receipt lacks or mangles {exc}") from exc
    if receipt.chain != f"evm:{chain_id}":
        raise AnchorError(f"EVM receipt names chain {receipt.chain}, its details chain {chain_id}")
    if "0x" + keccak(raw).hex() != str(receipt.transaction):
        raise AnchorError(
            f"EVM raw transaction hashes to 0x{keccak(raw).hex()}, not {receipt.transaction}"
        )
    try:
        tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        signer = Account.recover_transaction(raw)
    except Exception as exc:  # rlp/eth-account raise many kinds on garbage
        raise AnchorError(f"EVM raw transaction does not decode: {exc}") from exc
    if int(tx["chainId"]) != chain_id:
        raise AnchorError(f"EVM transaction is for chain {tx['chainId']}, not {chain_id}")
    if to_checksum_address(tx["to"]) != contract:
        raise AnchorError(f"EVM transaction calls {tx['to']}, not the contract {contract}")
    if signer != sender:
        raise AnchorError(f"EVM transaction is signed by {signer}, not by {sender}")
    if bytes(tx["data"]) != anchor_calldata(checkpoint):
        raise AnchorError(
            "EVM transaction data is not anchor(origin, size, root) of this checkpoint"
        )
    return (
        f"transaction {receipt.transaction} from {sender} calls {ANCHOR_SIGNATURE} on "
        f"{contract} (chain {chain_id}) with this checkpoint"
    )


def verify_on_chain(receipt: AnchorReceipt, rpc_url: str, *, timeout: float = 30.0) -> str:
    """Ask the node at ``rpc_url`` that the receipt's transaction succeeded where it says."""
    w3, chain_id = _connect(rpc_url, timeout)
    details = receipt.details
    if chain_id != int(details["chain_id"]):
        raise AnchorError(
            f"the node at {rpc_url} serves chain {chain_id}, the receipt {receipt.chain}"
        )
    try:
        mined = w3.eth.get_transaction_receipt(str(receipt.transaction))
    except Web3Exception as exc:
        raise AnchorError(f"transaction {receipt.transaction} is not on the chain: {exc}") from exc
    if mined["status"] != 1:
        raise AnchorError(f"transaction {receipt.transaction} reverted on the chain")
    if int(mined["blockNumber"]) != receipt.block or (
        mined["blockHash"].to_0x_hex() != details.get("block_hash")
    ):
        raise AnchorError(
            f"transaction {receipt.transaction} is in block {mined['blockNumber']} "
            f"({mined['blockHash'].to_0x_hex()}), not in block {receipt.block} as the receipt says"
        )
    return f"transaction {receipt.transaction} succeeded in block {receipt.block} ({rpc_url})"
