"""C2SP signed notes with Ed25519 (https://c2sp.org/signed-note).

A note is UTF-8 text ending in a newline, a blank line, then one or more
signature lines ``— <key name> <base64(4-byte key id || signature)>``. For
Ed25519 (signature type ``0x01``) the key id is the first four bytes of
``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)`` and a verifier key
is written ``<name>+<8 hex digits of key id>+<base64(0x01 || public key)>``. Other
Ed25519 signature types (``cosignature/v1``'s ``0x04``, :mod:`ledger.cosignature`)
make key ids and verifier keys the same way with their own type byte (``alg``).

Verification follows the spec: signatures by unknown keys are ignored, a
signature by the trusted key that fails rejects the whole note, and a note with
no signature by the trusted key is rejected. Output is byte-compatible with
Go's ``golang.org/x/mod/sumdb/note`` (checked against its published example).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Protocol, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import BadSignatureError, MalformedNoteError, UnknownKeyError

#: Signature type identifier byte of Ed25519 in C2SP signed-note.
ALG_ED25519 = 0x01
#: Verifiers must accept at least 16 signatures; Go's reference accepts 100.
MAX_SIGNATURES = 100
_SIG_PREFIX = "\u2014 "  # em dash, space


class NoteSigner(Protocol):
    """Anything that can sign a note: a key name, its key id and a signing function."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def check_key_name(name: str) -> None:
    """Refuse a key name that is empty or holds a Unicode space or ``+``."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise MalformedNoteError(
            f"key name {name!r} must be non-empty, without spaces and without '+'"
        )


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """The 4-byte key id of an Ed25519 ``public_key`` (32 raw bytes) named ``name``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes, alg: int = ALG_ED25519) -> str:
    """The verifier key text ``<name>+<hex key id>+<base64(alg || public key)>``."""
    check_key_name(name)
    if len(public_key) != 32:
        raise MalformedNoteError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    material = base64.b64encode(bytes([alg]) + public_key).decode()
    return f"{name}+{key_id(name, public_key, alg).hex()}+{material}"


def parse_verifier_key(
    text: str, alg: int = ALG_ED25519, *, what: str = "verifier key"
) -> tuple[str, bytes, bytes]:
    """``(name, key id, public key)`` of ``<name>+<hex key id>+<base64(alg || public key)>``.

    ``what`` names the key in the errors (MalformedNoteError).
    """
    parts = text.strip().split("+", 2)  # the base64 key may itself hold '+'
    if len(parts) != 3:
        raise MalformedNoteError(f"{what} {text!r} is not <name>+<hex key id>+<base64 key>")
    name, id_hex, material = parts
    check_key_name(name)
    if len(id_hex) != 8 or any(c not in "0123456789abcdefABCDEF" for c in id_hex):
        raise MalformedNoteError(f"{what} id {id_hex!r} is not 8 hex digits")
    raw = _b64decode(material, f"{what} material")
    if len(raw) != 33 or raw[0] != alg:
        raise MalformedNoteError(
            f"{what} material must be 0x{alg:02x} followed by a 32-byte Ed25519 public key"
        )
    public_key = raw[1:]
    if key_id(name, public_key, alg) != bytes.fromhex(id_hex):
        raise MalformedNoteError(f"{what} id {id_hex} does not match the key named {name!r}")
    return name, bytes.fromhex(id_hex), public_key


@dataclass(frozen=True)
class NamedKey:
    """A named Ed25519 private key: what note signers and witness cosigners share."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Self:
        """A key with fresh random material."""
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        """The 32-byte raw Ed25519 public key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def __repr__(self) -> str:  # never show key material
        return f"{type(self).__name__}(name={self.name!r})"


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise MalformedNoteError(f"{what} is not standard base64: {text!r}") from exc


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 key: its name, id and public key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_text(cls, text: str) -> Verifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        return cls(*parse_verifier_key(text))

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def __str__(self) -> str:
        return verifier_key(self.name, self.public_key)


def _check_text(text: str, what: str) -> None:
    bad = next((c for c in text if c < " " and c != "\n"), None)
    if bad is not None:
        raise MalformedNoteError(f"{what} contains the control character {bad!r}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedNoteError(f"{what} is not valid UTF-8: {exc}") from exc


def sign_note(text: str, signers: list[NoteSigner] | tuple[NoteSigner, ...]) -> str:
    """Sign ``text`` (non-empty, ending in a newline) with each signer; return the note."""
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    _check_text(text, "note text")
    if not signers:
        raise MalformedNoteError("a signed note needs at least one signer")
    message = text.encode()
    lines = []
    for signer in signers:
        check_key_name(signer.name)
        blob = base64.b64encode(signer.key_id + signer.sign(message)).decode()
        lines.append(f"{_SIG_PREFIX}{signer.name} {blob}\n")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes


def split_note(note: str) -> tuple[str, list[Signature]]:
    """Split a note into its text and signature lines, checking the format only."""
    _check_text(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line between its text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise MalformedNoteError("note has no signature lines after its blank line")
    if not block.endswith("\n"):
        raise MalformedNoteError("note signatures must end with a newline")
    signatures: list[Signature] = []
    for number, line in enumerate(block[:-1].split("\n"), start=1):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(f"signature line {number} does not start with '— ': {line!r}")
        name, sep, blob = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or " " in blob:
            raise MalformedNoteError(f"signature line {number} is not '— <name> <base64>'")
        check_key_name(name)
        raw = _b64decode(blob, f"signature line {number}")
        if len(raw) < 5:
            raise MalformedNoteError(f"signature line {number} is too short to hold a key id")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    if len(signatures) > MAX_SIGNATURES:
        raise MalformedNoteError(
            f"note has {len(signatures)} signatures, more than {MAX_SIGNATURES}"
        )
    return text, signatures


def open_note(note: str, verifier: Verifier) -> str:
    """Return the text of ``note`` once a signature by ``verifier`` verifies over it."""
    text, signatures = split_note(note)
    message = text.encode()
    verified = False
    for sig in signatures:
        if sig.name != verifier.name or sig.key_id != verifier.key_id:
            continue  # unknown keys are ignored (signed-note, "Signatures")
        if not verifier.verify(message, sig.signature):
            raise BadSignatureError(
                f"the signature by {verifier.name} (key id {verifier.key_id.hex()}) "
                "does not verify over the note text"
            )
        verified = True
    if not verified:
        seen = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in signatures)
        raise UnknownKeyError(
            f"the note is not signed by {verifier.name}+{verifier.key_id.hex()} "
            f"(signatures by: {seen})"
        )
    return text
