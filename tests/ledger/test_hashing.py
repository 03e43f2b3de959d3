"""RFC 9162 §2.1.1 hashing: known values."""

from __future__ import annotations

import hashlib

from ledger.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_leaf_and_node_are_domain_separated() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    # RFC 6962 test vector: the root of the one-leaf tree over the empty entry.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)
    assert len(node_hash(left, right)) == HASH_SIZE
