"""The Fabric messages a Gateway client signs and reads, built with ``fabric_protos``.

- :func:`build_proposal`: a ``peer.SignedProposal`` invoking a chaincode function
  (``common.Header`` of type ENDORSER_TRANSACTION with the chaincode header
  extension, ``SignatureHeader`` with the creator and a 24-byte nonce, and the
  ``ChaincodeProposalPayload`` with the invocation's arguments);
  the transaction id is ``hex(SHA-256(nonce || creator))`` as every Fabric SDK computes it.
- :func:`read_proposal`: the fields of a proposal back, for gateways and auditors.
- :func:`transaction_result`: the chaincode's response inside a prepared
  transaction envelope (what ``Endorse`` returns).
- :func:`commit_status_request`: the signed ``CommitStatusRequest``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import (
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from ledger.anchors.base import AnchorError
from ledger.anchors.fabric.identity import Identity

NONCE_SIZE = 24


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction id: hex SHA-256 of nonce || creator."""
    return hashlib.sha256(nonce + creator).hexdigest()


@dataclass(frozen=True)
class ProposalView:
    """What a proposal says: who, where, which function with which arguments."""

    tx_id: str
    channel: str
    chaincode: str
    args: tuple[bytes, ...]
    creator: bytes
    nonce: bytes
    header: bytes
    payload: bytes
    timestamp: datetime


def build_proposal(
    identity: Identity,
    channel: str,
    chaincode: str,
    args: list[bytes],
    *,
    nonce: bytes | None = None,
    moment: datetime | None = None,
) -> tuple[str, proposal_pb2.SignedProposal]:
    """The signed proposal invoking ``args[0]`` of ``chaincode`` on ``channel``."""
    creator = identity.serialized()
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    tx_id = transaction_id(nonce, creator)
    stamp = Timestamp()
    stamp.FromDatetime(moment or datetime.now(UTC))
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.HeaderType.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=tx_id,
        timestamp=stamp,
        extension=proposal_pb2.ChaincodeHeaderExtension(
            chaincode_id=chaincode_id
        ).SerializeToString(),
    )
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.Type.NODE,
            chaincode_id=chaincode_id,
            input=chaincode_pb2.ChaincodeInput(args=args),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=invocation.SerializeToString())
    proposal = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    proposal_bytes = proposal.SerializeToString()
    return tx_id, proposal_pb2.SignedProposal(
        proposal_bytes=proposal_bytes, signature=identity.sign(proposal_bytes)
    )


def read_proposal(proposal_bytes: bytes) -> ProposalView:
    """Decode a ``peer.Proposal``; AnchorError naming what is malformed."""
    try:
        proposal = proposal_pb2.Proposal.FromString(proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        invocation = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input)
    except DecodeError as exc:
        raise AnchorError(f"the Fabric proposal does not decode: {exc}") from exc
    if channel_header.type != common_pb2.HeaderType.ENDORSER_TRANSACTION:
        raise AnchorError(f"the Fabric proposal has header type {channel_header.type}")
    return ProposalView(
        tx_id=channel_header.tx_id,
        channel=channel_header.channel_id,
        chaincode=extension.chaincode_id.name,
        args=tuple(invocation.chaincode_spec.input.args),
        creator=signature_header.creator,
        nonce=signature_header.nonce,
        header=proposal.header,
        payload=proposal.payload,
        timestamp=channel_header.timestamp.ToDatetime(tzinfo=UTC),
    )


def envelope_tx_id(envelope: common_pb2.Envelope) -> tuple[str, str]:
    """The ``(tx_id, channel)`` of a transaction envelope's channel header."""
    try:
        payload = common_pb2.Payload.FromString(envelope.payload)
        channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    except DecodeError as exc:
        raise AnchorError(f"the prepared transaction does not decode: {exc}") from exc
    return channel_header.tx_id, channel_header.channel_id


def transaction_result(envelope: common_pb2.Envelope) -> proposal_response_pb2.Response:
    """The chaincode response carried by a prepared (endorsed) transaction envelope."""
    try:
        payload = common_pb2.Payload.FromString(envelope.payload)
        transaction = transaction_pb2.Transaction.FromString(payload.data)
        action = transaction_pb2.ChaincodeActionPayload.FromString(transaction.actions[0].payload)
        response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
            action.action.proposal_response_payload
        )
        chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
    except (DecodeError, IndexError) as exc:
        raise AnchorError(f"the prepared transaction carries no chaincode result: {exc}") from exc
    return chaincode_action.response


def commit_status_request(
    identity: Identity, channel: str, tx_id: str
) -> gateway_pb2.SignedCommitStatusRequest:
    """The signed request for the commit status of ``tx_id``."""
    request = gateway_pb2.CommitStatusRequest(
        transaction_id=tx_id, channel_id=channel, identity=identity.serialized()
    ).SerializeToString()
    return gateway_pb2.SignedCommitStatusRequest(request=request, signature=identity.sign(request))
