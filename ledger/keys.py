"""The log's Ed25519 signing key (RFC 8032) and its C2SP verifier key.

The private key lives in a PKCS#8 PEM file written owner-only (0600) through
:func:`orderhub.secrets.write_private`; the public verifier key text
(``<name>+<hex id>+<base64>``, see :mod:`ledger.note`) is written beside it as
``<file>.pub`` for anyone to copy into an auditor's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import note
from ledger.errors import KeyFileError
from orderhub.secrets import write_private


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key that signs notes."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        note.check_key_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        """The 32-byte raw Ed25519 public key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> bytes:
        """The 4-byte C2SP key id."""
        return note.key_id(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self.private_key.sign(message)

    def verifier_key(self) -> str:
        """The verifier key text ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        return note.verifier_key(self.name, self.public_key)

    def __repr__(self) -> str:  # never show key material
        return f"Signer(name={self.name!r}, key_id={self.key_id.hex()})"


def public_key_path(path: Path) -> Path:
    """Where the verifier key of the private key file ``path`` is written."""
    return path.with_name(path.name + ".pub")


def load_or_create_signer(path: Path, name: str) -> Signer:
    """Load the Ed25519 key in ``path`` (PEM), creating it with mode 0600 if absent.

    The verifier key is (re)written to ``<path>.pub`` so that it always matches.
    """
    path = Path(path)
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(
                f"{path} does not hold an unencrypted PEM private key: {exc}"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        signer = Signer(name, key)
    else:
        signer = Signer.generate(name)
        pem = signer.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem)
    pub = public_key_path(path)
    text = signer.verifier_key() + "\n"
    if not pub.exists() or pub.read_text() != text:
        pub.write_text(text)
    return signer
