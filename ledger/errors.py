"""The errors the ledger raises, one class per kind of refusal.

Every message names the thing that was wrong (the index, the size, the hash,
the line of the note), so that an auditor can act on it without a debugger.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error raised by :mod:`ledger`."""


class CanonicalJSONError(LedgerError, ValueError):
    """A value cannot be written as RFC 8785 canonical JSON."""


class ProofError(LedgerError):
    """An inclusion or consistency proof does not verify (RFC 9162 §2.1.3.2, §2.1.4.2)."""


class StoreError(LedgerError):
    """The stored log cannot answer: a size or index out of range, or missing/tampered rows."""


class KeyFileError(LedgerError):
    """A signing key file cannot be read or does not hold an Ed25519 private key."""


class CheckpointError(LedgerError):
    """A signed note or checkpoint was refused."""


class MalformedNoteError(CheckpointError):
    """The note, checkpoint body or verifier key is not in the C2SP format."""


class UnknownKeyError(CheckpointError):
    """The note carries no signature by the key we were told to trust."""


class BadSignatureError(CheckpointError):
    """A signature by the trusted key does not verify over the note text."""


class CheckpointConflictError(CheckpointError):
    """Signing would contradict a checkpoint already signed (smaller size or other root)."""
