"""A Fabric Gateway stub: the ``gateway.Gateway`` gRPC service, in-process, on 127.0.0.1.

No Fabric network runs here, so the Fabric anchor's client is tested against this
stub. It follows the Gateway protocol's messages as a gateway peer sees them:

- ``Endorse``: checks the ``SignedProposal`` (the creator's certificate signed the
  proposal bytes with a low-S ECDSA signature; the transaction id is
  ``SHA-256(nonce || creator)``; the channel and chaincode are the ones served),
  simulates the chaincode on the current state, and returns the prepared
  transaction envelope (``Payload`` → ``Transaction`` → ``ChaincodeActionPayload``
  → ``ProposalResponsePayload`` → ``ChaincodeAction`` with the response and the
  write set, endorsed by the stub peer's key). A chaincode error fails the call
  with ``ABORTED`` and an ``ErrorDetail``, as a gateway does.
- ``Submit``: checks the client's signature on the envelope and that it is the
  envelope it prepared; commits it in a new block (MVCC: a key changed since
  endorsement makes it ``MVCC_READ_CONFLICT``).
- ``CommitStatus``: checks the signed request; answers the validation code and block.
- ``Evaluate``: runs a query on the current state.

The chaincode is simulated with the rules of ``chaincode/lib/rules.js`` (same
refusal codes; the shared ``test/vectors.json`` runs against both).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

from ledger.anchors.base import AnchorError
from ledger.anchors.fabric.identity import Identity, verify_signature
from ledger.anchors.fabric.messages import read_proposal, transaction_id

MAX_SIZE = 2**64 - 1


class ChaincodeError(Exception):
    """The simulated chaincode refused (code as in rules.js)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def run_chaincode(
    state: dict[str, dict[str, Any]], function: str, args: list[str], tx_id: str
) -> tuple[str, dict[str, dict[str, Any]]]:
    """``(result, writes)`` of the checkpoint-anchor chaincode on ``state`` (not changed)."""
    if function == "Latest":
        (origin,) = args
        head = state.get(origin)
        return (json.dumps(head) if head else ""), {}
    if function != "Anchor" or len(args) != 3:
        raise ChaincodeError("BadRequest", f"unknown function {function}/{len(args)}")
    origin, size, root = args
    if not origin or "\n" in origin:
        raise ChaincodeError("BadRequest", "origin must be one non-empty line")
    if not (size == "0" or (size.isdigit() and size[0] != "0")) or int(size) > MAX_SIZE:
        raise ChaincodeError("BadRequest", f"size {size!r} is not a uint64 decimal")
    if len(root) != 64 or any(c not in "0123456789abcdef" for c in root):
        raise ChaincodeError("BadRequest", "root must be 64 lowercase hex digits (SHA-256)")
    previous = state.get(origin)
    if previous is not None:
        if int(size) < int(previous["size"]):
            raise ChaincodeError(
                "SizeShrinks", f"{origin}: size {size} is below {previous['size']}"
            )
        if int(size) == int(previous["size"]):
            if root != previous["root"]:
                raise ChaincodeError("RootConflict", f"{origin}: size {size} has another root")
            return json.dumps(previous), {}
    head = {"origin": origin, "size": size, "root": root, "txId": tx_id}
    return json.dumps(head), {origin: head}


@dataclass
class _Pending:
    payload: bytes
    creator: bytes
    reads: dict[str, int]
    writes: dict[str, dict[str, Any]]


def _abort(context: grpc.ServicerContext, code: int, message: str, address: str) -> None:
    detail = any_pb2.Any()
    detail.Pack(gateway_pb2.ErrorDetail(address=address, msp_id="PeerOrgMSP", message=message))
    status = status_pb2.Status(code=code, message=message, details=[detail])
    context.abort_with_status(rpc_status.to_status(status))


class GatewayStub(gateway_pb2_grpc.GatewayServicer):
    """The Gateway service over an in-memory world state of one channel and chaincode."""

    def __init__(self, channel: str, chaincode: str) -> None:
        self.channel = channel
        self.chaincode = chaincode
        self.peer = Identity.generate("PeerOrgMSP", "peer0.example")
        self.state: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, int] = {}
        self.pending: dict[str, _Pending] = {}
        self.committed: dict[str, tuple[int, int]] = {}
        self.block = 0
        self.calls: list[str] = []
        self.address = ""
        #: Called after each endorsement (a test's way to interleave another writer).
        self.on_endorsed: Callable[[str], None] | None = None
        self._lock = threading.Lock()

    # -- helpers -------------------------------------------------------------------------
    def _proposal(self, signed: proposal_pb2.SignedProposal, tx_id: str, channel: str) -> Any:
        try:
            view = read_proposal(signed.proposal_bytes)
            verify_signature(view.creator, signed.proposal_bytes, signed.signature)
        except AnchorError as exc:
            raise PermissionError(f"proposal refused: {exc}") from exc
        if transaction_id(view.nonce, view.creator) != view.tx_id or view.tx_id != tx_id:
            raise PermissionError(f"transaction id {tx_id} does not match the proposal")
        if view.channel != self.channel or channel != self.channel:
            raise LookupError(f"channel {view.channel} is not served here")
        if view.chaincode != self.chaincode:
            raise LookupError(f"chaincode {view.chaincode} is not installed on {self.channel}")
        return view

    def _envelope(self, view: Any, result: str, writes: dict[str, Any]) -> bytes:
        response = proposal_response_pb2.Response(status=200, payload=result.encode())
        action = proposal_pb2.ChaincodeAction(
            results=json.dumps(writes, sort_keys=True).encode(), response=response
        )
        response_payload = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=hashlib.sha256(view.header + view.payload).digest(),
            extension=action.SerializeToString(),
        ).SerializeToString()
        endorser = self.peer.serialized()
        endorsement = proposal_response_pb2.Endorsement(
            endorser=endorser, signature=self.peer.sign(response_payload + endorser)
        )
        header = common_pb2.Header.FromString(view.header)
        transaction = transaction_pb2.Transaction(
            actions=[
                transaction_pb2.TransactionAction(
                    header=header.signature_header,
                    payload=transaction_pb2.ChaincodeActionPayload(
                        chaincode_proposal_payload=view.payload,
                        action=transaction_pb2.ChaincodeEndorsedAction(
                            proposal_response_payload=response_payload,
                            endorsements=[endorsement],
                        ),
                    ).SerializeToString(),
                )
            ]
        )
        return common_pb2.Payload(
            header=header, data=transaction.SerializeToString()
        ).SerializeToString()

    # -- the Gateway service -------------------------------------------------------------
    def Endorse(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("Endorse")
        try:
            view = self._proposal(
                request.proposed_transaction, request.transaction_id, request.channel_id
            )
        except PermissionError as exc:
            _abort(context, code_pb2.PERMISSION_DENIED, str(exc), self.address)
        except LookupError as exc:
            _abort(context, code_pb2.NOT_FOUND, str(exc), self.address)
        function, *args = (a.decode() for a in view.args)
        with self._lock:
            try:
                result, writes = run_chaincode(self.state, function, args, view.tx_id)
            except ChaincodeError as exc:
                _abort(
                    context,
                    code_pb2.ABORTED,
                    f"chaincode response 500, {exc}",
                    self.address,
                )
            reads = {key: self.versions.get(key, 0) for key in (args[:1] or [])}
            payload = self._envelope(view, result, writes)
            self.pending[view.tx_id] = _Pending(payload, view.creator, reads, writes)
        if self.on_endorsed is not None:
            self.on_endorsed(view.tx_id)
        return gateway_pb2.EndorseResponse(
            prepared_transaction=common_pb2.Envelope(payload=payload)
        )

    def Submit(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("Submit")
        with self._lock:
            pending = self.pending.pop(request.transaction_id, None)
            if pending is None:
                _abort(
                    context,
                    code_pb2.NOT_FOUND,
                    f"transaction {request.transaction_id} was not endorsed here",
                    self.address,
                )
            envelope = request.prepared_transaction
            if envelope.payload != pending.payload:
                _abort(
                    context,
                    code_pb2.INVALID_ARGUMENT,
                    "the envelope is not the prepared transaction",
                    self.address,
                )
            try:
                verify_signature(pending.creator, envelope.payload, envelope.signature)
            except AnchorError as exc:
                _abort(context, code_pb2.PERMISSION_DENIED, f"envelope: {exc}", self.address)
            self.block += 1
            stale = any(self.versions.get(k, 0) != v for k, v in pending.reads.items())
            if stale:
                code = transaction_pb2.TxValidationCode.MVCC_READ_CONFLICT
            else:
                code = transaction_pb2.TxValidationCode.VALID
                for key, value in pending.writes.items():
                    self.state[key] = value
                    self.versions[key] = self.block
            self.committed[request.transaction_id] = (code, self.block)
        return gateway_pb2.SubmitResponse()

    def CommitStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("CommitStatus")
        inner = gateway_pb2.CommitStatusRequest.FromString(request.request)
        try:
            verify_signature(inner.identity, request.request, request.signature)
        except AnchorError as exc:
            _abort(context, code_pb2.PERMISSION_DENIED, f"commit status: {exc}", self.address)
        found = self.committed.get(inner.transaction_id)
        if found is None:
            _abort(
                context,
                code_pb2.NOT_FOUND,
                f"transaction {inner.transaction_id} is not committed",
                self.address,
            )
        code, block = found
        return gateway_pb2.CommitStatusResponse(result=code, block_number=block)

    def Evaluate(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("Evaluate")
        try:
            view = self._proposal(
                request.proposed_transaction, request.transaction_id, request.channel_id
            )
        except (PermissionError, LookupError) as exc:
            _abort(context, code_pb2.PERMISSION_DENIED, str(exc), self.address)
        function, *args = (a.decode() for a in view.args)
        try:
            result, _ = run_chaincode(self.state, function, args, view.tx_id)
        except ChaincodeError as exc:
            return gateway_pb2.EvaluateResponse(
                result=proposal_response_pb2.Response(status=500, message=str(exc))
            )
        return gateway_pb2.EvaluateResponse(
            result=proposal_response_pb2.Response(status=200, payload=result.encode())
        )


class GatewayServer:
    """The stub served by a real gRPC server on 127.0.0.1 (a free port)."""

    def __init__(self, channel: str = "orderhub", chaincode: str = "checkpoint-anchor") -> None:
        self.stub = GatewayStub(channel, chaincode)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        gateway_pb2_grpc.add_GatewayServicer_to_server(self.stub, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{port}"
        self.stub.address = self.target

    def __enter__(self) -> GatewayServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None)
