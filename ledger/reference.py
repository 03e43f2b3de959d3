"""RFC 9162 §2.1.1 to §2.1.4, written the way the RFC writes it: slow and obviously correct.

This module is the yardstick the fast code in :mod:`ledger.tree` and
:mod:`ledger.store` is compared against in the tests; nothing in production
calls it. Each function transcribes one definition of the RFC, recursing on
list slices, with ``D[n]`` given as the leaf hashes ``MTH({d(i)}) = leaf_hash(d(i))``.

- MTH: §2.1.1 (Merkle Tree Hash)
- PATH: §2.1.3.1 (Merkle audit path, the inclusion proof)
- PROOF / SUBPROOF: §2.1.4.1 (Merkle consistency proof)
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.hashing import EMPTY_ROOT, node_hash


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the given leaf hashes."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` (0 <= m < n)."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"index {index} is not in a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaf_hashes[:k]), root(leaf_hashes[k:])]
    return [*inclusion_proof(index - k, leaf_hashes[k:]), root(leaf_hashes[:k])]


def _subproof(m: int, leaf_hashes: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaf_hashes)
    if m == n:
        return [] if b else [root(leaf_hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaf_hashes[:k], b), root(leaf_hashes[k:])]
    return [*_subproof(m - k, leaf_hashes[k:], False), root(leaf_hashes[:k])]


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m <= n.

    The RFC defines it for 0 < m < n; m == n gives the empty proof, and m == 0
    (every tree extends the empty one) is given the empty proof too.
    """
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} is not between 0 and the tree size {n}")
    if old_size == 0:
        return []
    return _subproof(old_size, leaf_hashes, True)
