"""orderhub's provenance ledger: a library of proofs.

Events handed in by the steps of the flow become RFC 8785 canonical JSON leaves
of an RFC 9162 Merkle log stored in PostgreSQL; the log signs C2SP checkpoints
with Ed25519; anyone holding a checkpoint, a verifier key and a proof can check
an entry offline. It knows no source system, no model and no event kind: the caller
names the kinds it records and the fields each carries (:class:`EventKinds`).

The public surface:

- :class:`ProvenanceLog`, :class:`EventKinds`, :func:`latest_checkpoint` — recording;
- :func:`verify_inclusion`, :func:`verify_consistency`, :func:`open_checkpoint`
  — what an auditor runs;
- :func:`canonical_json`, :func:`leaf_hash`, :func:`node_hash`, :data:`EMPTY_ROOT`,
  :func:`sign_checkpoint`, :class:`Checkpoint`, :class:`Signer`,
  :func:`load_or_create_signer` — the building blocks;
- :mod:`ledger.store`, :mod:`ledger.tree`, :mod:`ledger.reference` — the log
  in PostgreSQL, in memory, and as the RFC writes it;
- :mod:`ledger.batches` — a batch's record tree (record → batch root), its leaf order
  and its stored form;
- :mod:`ledger.cosignature`, :mod:`ledger.witness`, :mod:`ledger.anchors`,
  :mod:`ledger.receipts` — C2SP cosignatures, the witness, the anchors (witness, EVM,
  Fabric) and their receipts;
- :mod:`ledger.bundle` — the audit bundle format, its builder and its offline verifier.
"""

from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ledger.errors import (
    BadSignatureError,
    CanonicalJSONError,
    CheckpointConflictError,
    CheckpointError,
    KeyFileError,
    LedgerError,
    MalformedNoteError,
    ProofError,
    StoreError,
    UnknownKeyError,
)
from ledger.hashing import EMPTY_ROOT, leaf_hash, node_hash
from ledger.keys import Signer, load_or_create_signer
from ledger.kinds import EventKinds
from ledger.log import ProvenanceLog, SignedCheckpoint, latest_checkpoint
from ledger.proofs import verify_consistency, verify_inclusion
from ledger.tree import MerkleTree

__all__ = [
    "EMPTY_ROOT",
    "BadSignatureError",
    "CanonicalJSONError",
    "Checkpoint",
    "CheckpointConflictError",
    "CheckpointError",
    "EventKinds",
    "KeyFileError",
    "LedgerError",
    "MalformedNoteError",
    "MerkleTree",
    "ProofError",
    "ProvenanceLog",
    "SignedCheckpoint",
    "Signer",
    "StoreError",
    "UnknownKeyError",
    "canonical_json",
    "latest_checkpoint",
    "leaf_hash",
    "load_or_create_signer",
    "node_hash",
    "open_checkpoint",
    "sign_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
