"""C2SP signed notes: byte-for-byte with Go's golang.org/x/mod/sumdb/note example."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import note
from ledger.errors import BadSignatureError, MalformedNoteError, UnknownKeyError
from ledger.keys import Signer

# The example of golang.org/x/mod/sumdb/note (note_test.go and its documentation).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_signer() -> Signer:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    return Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_key_id_and_verifier_key_match_go() -> None:
    signer = go_signer()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.verifier_key() == GO_VKEY
    assert str(note.Verifier.from_text(GO_VKEY)) == GO_VKEY


def test_signature_matches_go_byte_for_byte() -> None:
    assert note.sign_note(GO_TEXT, [go_signer()]) == GO_NOTE
    assert note.open_note(GO_NOTE, note.Verifier.from_text(GO_VKEY)) == GO_TEXT


def test_changed_text_is_a_bad_signature() -> None:
    verifier = note.Verifier.from_text(GO_VKEY)
    with pytest.raises(BadSignatureError, match="PeterNeumann"):
        note.open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)


def test_unknown_keys_are_ignored_but_one_known_is_needed() -> None:
    other = Signer.generate("witness.example/w1")
    cosigned = GO_NOTE + note.sign_note(GO_TEXT, [other]).split("\n\n")[-1]
    assert note.open_note(cosigned, note.Verifier.from_text(GO_VKEY)) == GO_TEXT
    with pytest.raises(UnknownKeyError, match=r"not signed by witness\.example/w1"):
        note.open_note(GO_NOTE, note.Verifier.from_text(other.verifier_key()))
    impostor = Signer.generate("PeterNeumann")  # same name, other key id
    with pytest.raises(UnknownKeyError):
        note.open_note(GO_NOTE, note.Verifier.from_text(impostor.verifier_key()))


def test_mangled_verifier_keys_are_refused() -> None:
    # As in Go's TestNewVerifier: every proper substring and every one-byte change fails.
    for i in range(len(GO_VKEY) + 1):
        for j in range(i + 1, len(GO_VKEY) + 1):
            if (i, j) != (0, len(GO_VKEY)):
                with pytest.raises(MalformedNoteError):
                    note.Verifier.from_text(GO_VKEY[i:j])
    for i in range(len(GO_VKEY)):
        mangled = GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1 :]
        with pytest.raises(MalformedNoteError):
            note.Verifier.from_text(mangled)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GO_TEXT, "no blank line"),
        (GO_TEXT + "\n", "no signature lines"),
        (GO_TEXT + "\nPeterNeumann sig\n", "signature line 1 does not start"),
        (GO_NOTE[:-1], "must end with a newline"),
        (GO_NOTE.replace("\u2014 PeterNeumann ", "\u2014 PeterNeumann  "), "is not"),
        (GO_NOTE.replace("x08go", "x08g!"), "not standard base64"),
        (GO_NOTE.replace("If you", "If\tyou"), "control character"),
        (GO_TEXT + "\n\u2014 PeterNeumann AAAA\n", "too short"),
    ],
)
def test_malformed_notes_are_named(text: str, problem: str) -> None:
    with pytest.raises(MalformedNoteError, match=problem):
        note.open_note(text, note.Verifier.from_text(GO_VKEY))


def test_text_must_end_in_newline_and_names_must_be_plain() -> None:
    with pytest.raises(MalformedNoteError, match="end with a newline"):
        note.sign_note("no newline", [go_signer()])
    for name in ["", "has space", "has+plus", "tab\tname"]:
        with pytest.raises(MalformedNoteError, match="key name"):
            Signer.generate(name)
