"""RFC 9162 §2.1.1 Merkle tree hashing with SHA-256.

Leaves and interior nodes are domain-separated by a one-byte prefix, so a leaf
can never be passed off as a node (the second-preimage defence of RFC 6962):

- ``leaf_hash(d) = SHA-256(0x00 || d)``
- ``node_hash(l, r) = SHA-256(0x01 || l || r)``
- the hash of an empty tree is ``SHA-256()``.
"""

from __future__ import annotations

import hashlib

#: Size in bytes of every hash in the log.
HASH_SIZE = 32

#: Merkle Tree Hash of the empty list: SHA-256 of the empty string.
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()
