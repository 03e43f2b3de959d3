"""C2SP tlog-checkpoint: body format, signing, and the refusals an auditor relies on."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import Checkpoint, open_checkpoint, parse_body, sign_checkpoint
from ledger.errors import (
    BadSignatureError,
    CheckpointError,
    MalformedNoteError,
    UnknownKeyError,
)
from ledger.hashing import EMPTY_ROOT, leaf_hash
from ledger.keys import Signer

ORIGIN = "orderhub.example/provenance"
ROOT = leaf_hash(b"root")


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate(ORIGIN)


def test_body_is_origin_size_root(signer: Signer) -> None:
    note_text = sign_checkpoint(ORIGIN, 20852163, ROOT, signer)
    body, sigs = note_text.split("\n\n")
    assert body + "\n" == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    name, blob = sigs.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(blob)
    assert name == ORIGIN
    assert raw[:4] == signer.key_id and len(raw) == 4 + 64


def test_round_trip(signer: Signer) -> None:
    note_text = sign_checkpoint(ORIGIN, 7, ROOT, signer)
    assert open_checkpoint(note_text, signer.verifier_key()) == Checkpoint(ORIGIN, 7, ROOT)
    assert open_checkpoint(note_text, signer.verifier_key(), origin=ORIGIN).size == 7
    empty = sign_checkpoint(ORIGIN, 0, EMPTY_ROOT, signer)
    assert open_checkpoint(empty, signer.verifier_key()).root_hash == EMPTY_ROOT


def test_tampered_body_is_a_bad_signature(signer: Signer) -> None:
    note_text = sign_checkpoint(ORIGIN, 7, ROOT, signer)
    other_root = base64.b64encode(leaf_hash(b"other")).decode()
    for forged in [
        note_text.replace("\n7\n", "\n8\n"),
        note_text.replace(base64.b64encode(ROOT).decode(), other_root),
        note_text.replace(ORIGIN + "\n", "evil.example/log\n", 1),
    ]:
        with pytest.raises(BadSignatureError, match="does not verify"):
            open_checkpoint(forged, signer.verifier_key())


def test_tampered_signature_is_a_bad_signature(signer: Signer) -> None:
    note_text = sign_checkpoint(ORIGIN, 7, ROOT, signer)
    body, line = note_text.split("\n\n")
    prefix, blob = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    forged = f"{body}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(BadSignatureError):
        open_checkpoint(forged, signer.verifier_key())


def test_wrong_key_is_unknown(signer: Signer) -> None:
    note_text = sign_checkpoint(ORIGIN, 7, ROOT, signer)
    with pytest.raises(UnknownKeyError, match="not signed by"):
        open_checkpoint(note_text, Signer.generate(ORIGIN).verifier_key())
    with pytest.raises(UnknownKeyError):
        open_checkpoint(note_text, Signer.generate("someone.else/log").verifier_key())


def test_other_origin_is_refused(signer: Signer) -> None:
    note_text = sign_checkpoint(ORIGIN, 7, ROOT, signer)
    with pytest.raises(CheckpointError, match=r"not 'other\.example/log'"):
        open_checkpoint(note_text, signer.verifier_key(), origin="other.example/log")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (f"{ORIGIN}\n7\n", "needs origin, size and root"),
        (f"{ORIGIN}\n07\n{base64.b64encode(ROOT).decode()}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n", "not a decimal"),
        (f"{ORIGIN}\n7\nnot base64!\n", "not base64"),
        (f"{ORIGIN}\n7\n{base64.b64encode(b'short').decode()}\n", "5 bytes, not 32"),
        (f"\n7\n{base64.b64encode(ROOT).decode()}\n", "origin line is empty"),
        (f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\n\nx\n", "non-empty line"),
    ],
)
def test_malformed_bodies_are_named(signer: Signer, body: str, problem: str) -> None:
    from ledger.note import sign_note

    with pytest.raises(MalformedNoteError, match=problem):
        open_checkpoint(sign_note(body, [signer]), signer.verifier_key())


def test_extension_lines_are_kept() -> None:
    body = f"{ORIGIN}\n3\n{base64.b64encode(ROOT).decode()}\nextension one\n"
    assert parse_body(body).extensions == ("extension one",)
    assert parse_body(body).body() == body


def test_bad_inputs_to_sign(signer: Signer) -> None:
    with pytest.raises(MalformedNoteError, match="origin"):
        sign_checkpoint("two\nlines", 1, ROOT, signer)
    with pytest.raises(MalformedNoteError, match="negative"):
        sign_checkpoint(ORIGIN, -1, ROOT, signer)
    with pytest.raises(MalformedNoteError, match="31 bytes"):
        sign_checkpoint(ORIGIN, 1, ROOT[:31], signer)
