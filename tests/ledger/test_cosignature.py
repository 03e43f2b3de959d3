"""C2SP tlog-cosignature (cosignature/v1, Ed25519): format, verification, refusals."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import (
    ALG_COSIGNATURE_V1,
    CosignatureVerifier,
    Cosigner,
    add_cosignature,
    signed_message,
)
from ledger.errors import BadSignatureError, MalformedNoteError, UnknownKeyError
from ledger.hashing import leaf_hash
from ledger.keys import Signer
from ledger.note import key_id, split_note

ORIGIN = "example.com/behind-the-sofa"
WITNESS = "witness.example.com/w1"
LOG = Signer.generate(ORIGIN)
ROOT = leaf_hash(b"root")


def test_signed_message_is_header_time_and_body() -> None:
    body = Checkpoint(ORIGIN, 20852163, ROOT).body()
    message = signed_message(body, 1679315147)
    assert message == b"cosignature/v1\ntime 1679315147\n" + body.encode()
    with pytest.raises(MalformedNoteError):
        signed_message(body, -1)


def test_the_spec_example_line_carries_key_id_timestamp_and_signature() -> None:
    # the cosignature line of the example in https://c2sp.org/tlog-cosignature
    blob = base64.b64decode(
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
        "qhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    assert len(blob) == 4 + 8 + 64
    assert struct.unpack(">Q", blob[4:12]) == (1679315147,)


def test_key_id_and_verifier_key_use_type_0x04() -> None:
    cosigner = Cosigner.generate(WITNESS)
    public = cosigner.public_key
    assert ALG_COSIGNATURE_V1 == 0x04
    assert (
        key_id(WITNESS, public, ALG_COSIGNATURE_V1)
        == hashlib.sha256(WITNESS.encode() + b"\n\x04" + public).digest()[:4]
    )
    name, id_hex, material = cosigner.verifier_key().split("+", 2)
    assert (name, id_hex) == (WITNESS, cosigner.key_id.hex())
    assert base64.b64decode(material) == b"\x04" + public
    assert str(CosignatureVerifier.from_text(cosigner.verifier_key())) == cosigner.verifier_key()


def test_a_cosigned_checkpoint_verifies_with_both_keys() -> None:
    cosigner = Cosigner.generate(WITNESS)
    note = sign_checkpoint(ORIGIN, 7, ROOT, LOG)
    body, _ = split_note(note)
    cosigned = add_cosignature(note, cosigner.cosign(body, 1700000000))
    verifier = CosignatureVerifier.from_text(cosigner.verifier_key())
    assert verifier.verify(cosigned) == 1700000000
    from ledger.checkpoint import open_checkpoint

    assert open_checkpoint(cosigned, LOG.verifier_key()).size == 7, "the log key still verifies"
    _, signatures = split_note(cosigned)
    assert [s.name for s in signatures] == [ORIGIN, WITNESS]


def test_refusals() -> None:
    cosigner = Cosigner.generate(WITNESS)
    verifier = CosignatureVerifier.from_text(cosigner.verifier_key())
    note = sign_checkpoint(ORIGIN, 7, ROOT, LOG)
    body, _ = split_note(note)
    line = cosigner.cosign(body, 1700000000)
    with pytest.raises(UnknownKeyError, match="carries no cosignature"):
        verifier.verify(note)
    other = sign_checkpoint(ORIGIN, 8, ROOT, LOG)
    with pytest.raises(BadSignatureError, match="does not verify"):
        verifier.verify(add_cosignature(other, line))
    blob = bytearray(base64.b64decode(line.split(" ")[-1]))
    blob[4:12] = struct.pack(">Q", 1700000001)  # a moved timestamp breaks the signature
    moved = f"\u2014 {WITNESS} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(BadSignatureError):
        verifier.verify(add_cosignature(note, moved))
    short = f"\u2014 {WITNESS} {base64.b64encode(bytes(blob[:40])).decode()}\n"
    with pytest.raises(MalformedNoteError, match="not 8 \\(timestamp\\) \\+ 64"):
        verifier.verify(add_cosignature(note, short))
    # a note signature (type 0x01) by the same key material is not a cosignature
    as_note_key = Signer(WITNESS, cosigner.private_key)
    with pytest.raises(UnknownKeyError):
        verifier.verify(sign_checkpoint(ORIGIN, 7, ROOT, as_note_key))
    with pytest.raises(MalformedNoteError, match="0x04"):
        CosignatureVerifier.from_text(as_note_key.verifier_key())


def test_mangled_witness_keys_are_refused() -> None:
    text = Cosigner.generate(WITNESS).verifier_key()
    for i in range(len(text)):
        mangled = text[:i] + chr(ord(text[i]) + 1) + text[i + 1 :]
        with pytest.raises(MalformedNoteError):
            CosignatureVerifier.from_text(mangled)
    with pytest.raises(MalformedNoteError, match="witness key id 'abcd' is not 8 hex digits"):
        CosignatureVerifier.from_text(text.replace(text.split("+")[1], "abcd", 1))
