"""A Fabric client identity: an MSP id, an X.509 certificate and its ECDSA P-256 key.

Fabric signs with ECDSA over SHA-256 and accepts only *low-S* signatures (S at
most half the curve order), DER-encoded; the identity travels as a
``msp.SerializedIdentity`` (MSP id + PEM certificate). :func:`verify_signature`
is the check a peer (or an auditor) makes with the creator bytes of a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from ledger.anchors.base import AnchorError

#: Order of the P-256 group: S above half of it is normalised (Fabric refuses high S).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class Identity:
    """Who signs proposals, transactions and commit-status requests."""

    msp_id: str
    certificate_pem: bytes
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def from_files(cls, msp_id: str, certificate: Path, private_key: Path) -> Identity:
        """Load a PEM certificate and a PEM (PKCS#8 or SEC1) EC private key."""
        try:
            key = serialization.load_pem_private_key(Path(private_key).read_bytes(), None)
            cert_pem = Path(certificate).read_bytes()
            x509.load_pem_x509_certificate(cert_pem)
        except (OSError, ValueError, TypeError) as exc:
            raise AnchorError(f"Fabric identity files cannot be read: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise AnchorError(f"{private_key} holds a {type(key).__name__}, not an EC key")
        return cls(msp_id, cert_pem, key)

    @classmethod
    def generate(cls, msp_id: str, common_name: str) -> Identity:
        """A fresh P-256 key with a self-signed certificate (for development and tests)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, msp_id),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(msp_id, cert.public_bytes(serialization.Encoding.PEM), key)

    def serialized(self) -> bytes:
        """The ``msp.SerializedIdentity`` bytes (the *creator* of what this identity signs)."""
        return identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.certificate_pem
        ).SerializeToString()

    def sign(self, message: bytes) -> bytes:
        """DER ECDSA-SHA256 signature of ``message`` with S normalised low."""
        der = self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        if s > P256_ORDER // 2:
            s = P256_ORDER - s
        return encode_dss_signature(r, s)

    def __repr__(self) -> str:  # never show key material
        return f"Identity(msp_id={self.msp_id!r})"


def parse_creator(creator: bytes) -> tuple[str, x509.Certificate]:
    """The MSP id and certificate of serialized ``creator`` bytes."""
    try:
        identity = identities_pb2.SerializedIdentity.FromString(creator)
        cert = x509.load_pem_x509_certificate(identity.id_bytes)
    except (DecodeError, ValueError) as exc:
        raise AnchorError(f"the creator is not a serialized X.509 identity: {exc}") from exc
    return identity.mspid, cert


def verify_signature(creator: bytes, message: bytes, signature: bytes) -> None:
    """Check a low-S ECDSA-SHA256 signature by the certificate in ``creator``."""
    msp_id, cert = parse_creator(creator)
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise AnchorError(f"the certificate of {msp_id} holds no EC public key")
    try:
        _, s = decode_dss_signature(signature)
    except ValueError as exc:
        raise AnchorError(f"the signature of {msp_id} is not DER ECDSA: {exc}") from exc
    if s > P256_ORDER // 2:
        raise AnchorError(f"the signature of {msp_id} has a high S value (Fabric refuses it)")
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AnchorError(f"the signature of {msp_id} does not verify") from None
