"""The anchors the settings ask for, built from settings and secrets.

``ORDERHUB_ANCHORS`` names them (default: ``witness``, which needs nothing but a
key under the home folder, so a fresh demo anchors too):

- ``witness``: key ``<home>/secrets/witness-key.pem`` (its C2SP verifier key in
  ``witness-key.pem.pub``), state ``<home>/witness/state.json``;
- ``evm``: ``ORDERHUB_EVM_RPC_URL``, ``ORDERHUB_EVM_CONTRACT_ADDRESS`` and the
  secret ``evm-anchor-key`` (hex private key of the account that deployed the contract);
- ``fabric``: ``ORDERHUB_FABRIC_GATEWAY``, ``_MSP_ID``, ``_CERT_FILE``, ``_KEY_FILE``,
  optionally ``_TLS_CA_FILE``, ``_CHANNEL`` and ``_CHAINCODE``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from ledger.anchors.base import Anchor, AnchorError
from ledger.keys import Signer, load_or_create_cosigner
from ledger.log import ProvenanceLog
from ledger.witness import Witness
from orderhub.secrets import get_secret
from orderhub.settings import Settings

WITNESS_KEY_FILE = "witness-key.pem"
EVM_KEY_SECRET = "evm-anchor-key"


def witness_state_file(settings: Settings) -> Path:
    """Where the witness keeps the last checkpoint it cosigned per log."""
    return settings.home_dir / "witness" / "state.json"


def witness_anchor(settings: Settings, log: ProvenanceLog, log_signer: Signer) -> Anchor:
    from ledger.anchors.witness import WitnessAnchor

    cosigner = load_or_create_cosigner(
        settings.secrets_dir / WITNESS_KEY_FILE, settings.witness_name
    )
    witness = Witness(cosigner, [log_signer.verifier_key()], witness_state_file(settings))
    return WitnessAnchor(witness, log.consistency_proof)


def evm_anchor(settings: Settings) -> Anchor:
    from ledger.anchors.evm.anchor import EvmAnchor

    if not settings.evm_rpc_url or not settings.evm_contract_address:
        raise AnchorError(
            "the evm anchor needs ORDERHUB_EVM_RPC_URL and ORDERHUB_EVM_CONTRACT_ADDRESS"
        )
    key = get_secret(settings, EVM_KEY_SECRET, lambda: "0x" + secrets.token_hex(32))
    return EvmAnchor(settings.evm_rpc_url, settings.evm_contract_address, key)


def fabric_anchor(settings: Settings) -> Anchor:
    from ledger.anchors.fabric.anchor import FabricAnchor
    from ledger.anchors.fabric.gateway import GatewayClient
    from ledger.anchors.fabric.identity import Identity

    missing = [
        name
        for name, value in (
            ("ORDERHUB_FABRIC_GATEWAY", settings.fabric_gateway),
            ("ORDERHUB_FABRIC_MSP_ID", settings.fabric_msp_id),
            ("ORDERHUB_FABRIC_CERT_FILE", settings.fabric_cert_file),
            ("ORDERHUB_FABRIC_KEY_FILE", settings.fabric_key_file),
        )
        if not value
    ]
    if missing:
        raise AnchorError(f"the fabric anchor needs {', '.join(missing)}")
    assert settings.fabric_gateway and settings.fabric_msp_id
    assert settings.fabric_cert_file and settings.fabric_key_file
    identity = Identity.from_files(
        settings.fabric_msp_id, settings.fabric_cert_file, settings.fabric_key_file
    )
    tls = settings.fabric_tls_ca_file.read_bytes() if settings.fabric_tls_ca_file else None
    client = GatewayClient(
        settings.fabric_gateway,
        identity,
        settings.fabric_channel,
        settings.fabric_chaincode,
        tls_root_certificate=tls,
    )
    return FabricAnchor(client)


def configured_anchors(settings: Settings, log: ProvenanceLog, log_signer: Signer) -> list[Anchor]:
    """One anchor per name in ``settings.anchors``, in that order."""
    anchors: list[Anchor] = []
    for kind in settings.anchors:
        if kind == "witness":
            anchors.append(witness_anchor(settings, log, log_signer))
        elif kind == "evm":
            anchors.append(evm_anchor(settings))
        elif kind == "fabric":
            anchors.append(fabric_anchor(settings))
        else:  # the settings validator refuses these first
            raise AnchorError(f"unknown anchor {kind!r}")
    return anchors
