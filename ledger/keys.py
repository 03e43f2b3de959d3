"""The log's Ed25519 signing key (RFC 8032) and its C2SP verifier key; witness keys too.

The private key lives in a PKCS#8 PEM file written owner-only (0600, created with that mode
so it is never readable by others, even for an instant); the public verifier key text
(``<name>+<hex id>+<base64>``, see :mod:`ledger.note`) is written beside it as
``<file>.pub`` for anyone to copy into an auditor's configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import note
from ledger.cosignature import Cosigner
from ledger.errors import KeyFileError


@dataclass(frozen=True, repr=False)
class Signer(note.NamedKey):
    """A named Ed25519 private key that signs notes."""

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


def _write_owner_only(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, a file only its owner can read or write (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(0o600)  # a file that existed keeps its mode through O_CREAT


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (PEM), created with mode 0600 if absent."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(
                f"{path} does not hold an unencrypted PEM private key: {exc}"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_owner_only(path, pem)
    return key


def _write_public(path: Path, verifier_key: str) -> None:
    pub = public_key_path(path)
    text = verifier_key + "\n"
    if not pub.exists() or pub.read_text() != text:
        pub.write_text(text)


def load_or_create_signer(path: Path, name: str) -> Signer:
    """Load the Ed25519 key in ``path`` (PEM), creating it with mode 0600 if absent.

    The verifier key is (re)written to ``<path>.pub`` so that it always matches.
    """
    path = Path(path)
    signer = Signer(name, _load_or_create_key(path))
    _write_public(path, signer.verifier_key())
    return signer


def load_or_create_cosigner(path: Path, name: str) -> Cosigner:
    """Like :func:`load_or_create_signer`, for a witness key (C2SP ``cosignature/v1``).

    ``<path>.pub`` gets the cosigner's verifier key (signature type 0x04). Use a
    key file of its own: a cosigner key must not be the log's key.
    """
    path = Path(path)
    cosigner = Cosigner(name, _load_or_create_key(path))
    _write_public(path, cosigner.verifier_key())
    return cosigner
