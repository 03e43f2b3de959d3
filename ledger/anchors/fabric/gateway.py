"""A Fabric Gateway client over gRPC (``gateway.Gateway`` of Fabric 2.4+), with ``fabric_protos``.

``submit`` runs the Gateway protocol's three steps, as the official SDKs do:

1. ``Endorse``: the signed proposal goes to the gateway peer, which collects
   endorsements and returns the prepared transaction envelope (checked here to
   carry our transaction id and a successful chaincode response);
2. ``Submit``: the envelope, signed by the client, goes to ordering;
3. ``CommitStatus``: a signed request waits for the commit and returns the
   validation code and the block number.

``evaluate`` sends a signed proposal to ``Evaluate`` and returns the chaincode's
answer without ordering (a query). gRPC errors become :class:`AnchorError`
naming the step, the status and the gateway's error details.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import transaction_pb2
from google.rpc import status_pb2

from ledger.anchors.base import AnchorError
from ledger.anchors.fabric.identity import Identity
from ledger.anchors.fabric.messages import (
    build_proposal,
    commit_status_request,
    envelope_tx_id,
    transaction_result,
)


@dataclass(frozen=True)
class Submitted:
    """A committed transaction: its id, the chaincode's result, where it was committed."""

    tx_id: str
    result: bytes
    block_number: int
    proposal_bytes: bytes
    proposal_signature: bytes


def _details(error: grpc.RpcError) -> str:
    """The gateway's ``ErrorDetail``s (address, MSP id, message) of a failed call."""
    found = []
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            item = gateway_pb2.ErrorDetail()
            if detail.Unpack(item):
                found.append(f"{item.msp_id}@{item.address}: {item.message}")
    return "; ".join(found)


def _failed(step: str, error: grpc.RpcError) -> AnchorError:
    code = error.code()  # type: ignore[attr-defined]
    message = error.details()  # type: ignore[attr-defined]
    details = _details(error)
    return AnchorError(
        f"Fabric Gateway {step} failed: {code.name}: {message}"
        + (f" ({details})" if details else "")
    )


class GatewayClient:
    """Calls one chaincode on one channel through a Fabric Gateway peer."""

    def __init__(
        self,
        target: str,
        identity: Identity,
        channel: str,
        chaincode: str,
        *,
        tls_root_certificate: bytes | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.target = target
        self.identity = identity
        self.channel = channel
        self.chaincode = chaincode
        self.timeout = timeout
        self._channel = (
            grpc.secure_channel(target, grpc.ssl_channel_credentials(tls_root_certificate))
            if tls_root_certificate
            else grpc.insecure_channel(target)
        )
        self._stub = gateway_pb2_grpc.GatewayStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _args(self, function: str, args: tuple[str, ...]) -> list[bytes]:
        return [function.encode(), *(a.encode() for a in args)]

    def evaluate(self, function: str, *args: str) -> bytes:
        """The chaincode's answer to ``function(*args)``, without a transaction."""
        tx_id, proposal = build_proposal(
            self.identity, self.channel, self.chaincode, self._args(function, args)
        )
        try:
            response = self._stub.Evaluate(
                gateway_pb2.EvaluateRequest(
                    transaction_id=tx_id, channel_id=self.channel, proposed_transaction=proposal
                ),
                timeout=self.timeout,
            )
        except grpc.RpcError as error:
            raise _failed("Evaluate", error) from error
        if response.result.status >= 400:
            raise AnchorError(
                f"chaincode {self.chaincode} {function} answered {response.result.status}: "
                f"{response.result.message}"
            )
        return bytes(response.result.payload)

    def submit(self, function: str, *args: str) -> Submitted:
        """Endorse, submit and wait for the commit of ``function(*args)``."""
        tx_id, proposal = build_proposal(
            self.identity, self.channel, self.chaincode, self._args(function, args)
        )
        try:
            endorsed = self._stub.Endorse(
                gateway_pb2.EndorseRequest(
                    transaction_id=tx_id, channel_id=self.channel, proposed_transaction=proposal
                ),
                timeout=self.timeout,
            )
        except grpc.RpcError as error:
            raise _failed("Endorse", error) from error
        envelope = endorsed.prepared_transaction
        got_id, got_channel = envelope_tx_id(envelope)
        if (got_id, got_channel) != (tx_id, self.channel):
            raise AnchorError(
                f"the gateway prepared transaction {got_id} on {got_channel}, "
                f"not {tx_id} on {self.channel}"
            )
        result = transaction_result(envelope)
        if result.status >= 400:
            raise AnchorError(
                f"chaincode {self.chaincode} {function} answered {result.status}: {result.message}"
            )
        signed = common_pb2.Envelope(
            payload=envelope.payload, signature=self.identity.sign(envelope.payload)
        )
        try:
            self._stub.Submit(
                gateway_pb2.SubmitRequest(
                    transaction_id=tx_id, channel_id=self.channel, prepared_transaction=signed
                ),
                timeout=self.timeout,
            )
            status = self._stub.CommitStatus(
                commit_status_request(self.identity, self.channel, tx_id), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise _failed("Submit/CommitStatus", error) from error
        if status.result != transaction_pb2.TxValidationCode.VALID:
            code = transaction_pb2.TxValidationCode.Name(status.result)
            raise AnchorError(
                f"transaction {tx_id} was committed invalid ({code}) in block {status.block_number}"
            )
        return Submitted(
            tx_id=tx_id,
            result=bytes(result.payload),
            block_number=int(status.block_number),
            proposal_bytes=proposal.proposal_bytes,
            proposal_signature=proposal.signature,
        )
