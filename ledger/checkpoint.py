"""C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is a signed note (:mod:`ledger.note`) whose text is::

    <origin>
    <tree size, decimal, no leading zeros>
    <base64 of the RFC 9162 root hash>
    [extension lines]

signed by the log's Ed25519 key. :func:`open_checkpoint` is what an auditor
runs: it verifies the signature with a verifier key they trust, then parses
the body; a note that is malformed, not signed by that key, or signed badly is
refused with :class:`~ledger.errors.CheckpointError` naming which.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ledger import note
from ledger.errors import CheckpointError, MalformedNoteError
from ledger.hashing import HASH_SIZE

_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: who (origin), how big (size), and its root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedNoteError(
                f"checkpoint origin {self.origin!r} must be one non-empty line"
            )
        if self.size < 0:
            raise MalformedNoteError(f"checkpoint size {self.size} is negative")
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedNoteError(
                f"checkpoint root hash has {len(self.root_hash)} bytes, not {HASH_SIZE}"
            )
        for line in self.extensions:
            if not line or "\n" in line:
                raise MalformedNoteError(
                    f"checkpoint extension line {line!r} must be one non-empty line"
                )

    def body(self) -> str:
        """The note text of this checkpoint."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(line + "\n" for line in (*lines, *self.extensions))


def parse_body(text: str) -> Checkpoint:
    """Parse checkpoint note text (no signature check: use :func:`open_checkpoint` for that)."""
    if not text.endswith("\n"):
        raise MalformedNoteError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNoteError(
            f"checkpoint text has {len(lines)} lines; it needs origin, size and root hash"
        )
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise MalformedNoteError("checkpoint origin line is empty")
    if not _SIZE.fullmatch(size_text):
        raise MalformedNoteError(
            f"checkpoint size {size_text!r} is not a decimal without leading zeros"
        )
    try:
        root = base64.b64decode(root_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise MalformedNoteError(f"checkpoint root hash {root_text!r} is not base64") from exc
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(origin: str, size: int, root: bytes, signer: note.NoteSigner) -> str:
    """The signed note of the checkpoint ``(origin, size, root)``."""
    return note.sign_note(Checkpoint(origin, size, bytes(root)).body(), [signer])


def open_checkpoint(
    note_text: str, verifier_key_text: str, *, origin: str | None = None
) -> Checkpoint:
    """Verify ``note_text`` with the trusted verifier key, then parse it.

    With ``origin`` given, a checkpoint of another log is refused too.
    """
    verifier = note.Verifier.from_text(verifier_key_text)
    checkpoint = parse_body(note.open_note(note_text, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for the log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
