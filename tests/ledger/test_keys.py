"""The signing key file: created owner-only, reloaded unchanged, verifier key beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import KeyFileError
from ledger.keys import load_or_create_signer, public_key_path
from ledger.note import Verifier

NAME = "orderhub.example/provenance"


def test_created_owner_only_with_verifier_key_beside(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "ledger-signing-key"
    signer = load_or_create_signer(path, NAME)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    pub = public_key_path(path)
    assert pub.name == "ledger-signing-key.pub"
    assert pub.read_text() == signer.verifier_key() + "\n"
    verifier = Verifier.from_text(pub.read_text())
    assert (verifier.name, verifier.key_id) == (NAME, signer.key_id)
    assert verifier.verify(b"msg", signer.sign(b"msg"))


def test_reloaded_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "key"
    first = load_or_create_signer(path, NAME)
    public_key_path(path).unlink()
    again = load_or_create_signer(path, NAME)
    assert again.public_key == first.public_key
    assert public_key_path(path).read_text().strip() == first.verifier_key()


def test_repr_shows_no_key_material(tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path / "key", NAME)
    secret = signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert secret.hex() not in repr(signer)
    assert signer.key_id.hex() in repr(signer)


def test_not_a_key_or_not_ed25519(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key")
    with pytest.raises(KeyFileError, match="garbage does not hold"):
        load_or_create_signer(garbage, NAME)
    ecdsa = tmp_path / "ecdsa"
    ecdsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_or_create_signer(ecdsa, NAME)
