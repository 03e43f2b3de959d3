"""C2SP transparency log cosignatures, Ed25519 ``cosignature/v1`` (https://c2sp.org/tlog-cosignature).

A cosignature is one more signature line on a checkpoint's signed note, by a
witness (cosigner) rather than by the log:

    — <witness name> base64(key id || u64 timestamp, big-endian || Ed25519 signature)

- key id: ``SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[:4]``;
- signed message: ``"cosignature/v1\\n" + "time <timestamp>\\n" + <checkpoint body>``;
- verifier key text: ``<name>+<hex key id>+<base64(0x04 || public key)>``.

A v1 cosignature states that, at that time, the checkpoint was the largest
consistent tree head the witness had seen for the log's origin.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import note
from ledger.errors import BadSignatureError, MalformedNoteError, UnknownKeyError

#: Signature type byte of Ed25519 cosignatures (tlog-cosignature).
ALG_COSIGNATURE_V1 = 0x04
_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1


def signed_message(body: str, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signs: header, time line, checkpoint body."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise MalformedNoteError(f"cosignature timestamp {timestamp} is out of range")
    return (_HEADER + f"time {timestamp}\n" + body).encode()


@dataclass(frozen=True, repr=False)
class Cosigner(note.NamedKey):
    """A witness key that produces ``cosignature/v1`` lines."""

    @property
    def key_id(self) -> bytes:
        return note.key_id(self.name, self.public_key, ALG_COSIGNATURE_V1)

    def verifier_key(self) -> str:
        """``<name>+<hex key id>+<base64(0x04 || public key)>``."""
        return note.verifier_key(self.name, self.public_key, ALG_COSIGNATURE_V1)

    def cosign(self, body: str, timestamp: int) -> str:
        """The signature line (ending in a newline) cosigning ``body`` at ``timestamp``."""
        signature = self.private_key.sign(signed_message(body, timestamp))
        blob = self.key_id + struct.pack(">Q", timestamp) + signature
        return f"\u2014 {self.name} {base64.b64encode(blob).decode()}\n"

    def __repr__(self) -> str:  # never show key material
        return f"Cosigner(name={self.name!r}, key_id={self.key_id.hex()})"


@dataclass(frozen=True)
class CosignatureVerifier:
    """A trusted witness key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def from_text(cls, text: str) -> CosignatureVerifier:
        """Parse ``<name>+<hex key id>+<base64(0x04 || public key)>``."""
        return cls(*note.parse_verifier_key(text, ALG_COSIGNATURE_V1, what="witness key"))

    def __str__(self) -> str:
        return note.verifier_key(self.name, self.public_key, ALG_COSIGNATURE_V1)

    def verify(self, note_text: str) -> int:
        """Check this witness's cosignature on ``note_text``; return its timestamp.

        Signatures by other keys are ignored (signed-note); a note without a
        cosignature by this key, or with one that fails, is refused.
        """
        body, signatures = note.split_note(note_text)
        found: int | None = None
        for sig in signatures:
            if sig.name != self.name or sig.key_id != self.key_id:
                continue
            if len(sig.signature) != 8 + 64:
                raise MalformedNoteError(
                    f"the cosignature by {self.name} has {len(sig.signature)} bytes after its "
                    "key id, not 8 (timestamp) + 64 (Ed25519)"
                )
            (timestamp,) = struct.unpack(">Q", sig.signature[:8])
            try:
                Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                    sig.signature[8:], signed_message(body, timestamp)
                )
            except InvalidSignature:
                raise BadSignatureError(
                    f"the cosignature by {self.name} (key id {self.key_id.hex()}) "
                    "does not verify over the checkpoint"
                ) from None
            found = timestamp
        if found is None:
            raise UnknownKeyError(
                f"the checkpoint carries no cosignature by {self.name}+{self.key_id.hex()}"
            )
        return found


def add_cosignature(note_text: str, line: str) -> str:
    """``note_text`` with one more signature line (the note keeps its text)."""
    note.split_note(note_text)  # refuse a malformed note
    if not line.endswith("\n") or "\n" in line[:-1]:
        raise MalformedNoteError("a cosignature line is one line ending in a newline")
    return note_text + line
