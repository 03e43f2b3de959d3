"""Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).

Both functions return ``None`` when the proof holds and raise
:class:`~ledger.errors.ProofError` saying what failed otherwise. They need
nothing but hashes and sizes: this is the code an auditor runs offline.

Edge cases the RFC leaves to the implementation follow transparency-dev/merkle:
a tree is consistent with itself (empty proof, equal roots) and every tree is
consistent with the empty tree (empty proof); here the empty tree's root must
also be ``SHA-256()``.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from ledger.errors import ProofError
from ledger.hashing import EMPTY_ROOT, HASH_SIZE, node_hash


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {size}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        _check_hash(p, f"proof hash #{i}")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``."""
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root hash")
    _check_proof(proof)
    if index < 0 or tree_size < 0:
        raise ProofError(f"index {index} and tree size {tree_size} must not be negative")
    # 1. leaf_index must be below tree_size.
    if index >= tree_size:
        raise ProofError(f"leaf index {index} is not below the tree size {tree_size}")
    # 2.-3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # 4.
    for p in proof:
        if sn == 0:
            raise ProofError(
                f"inclusion proof has {len(proof)} hashes: too many for leaf {index} "
                f"of a tree of size {tree_size}"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes: too few for leaf {index} "
            f"of a tree of size {tree_size}"
        )
    if not _same(r, root):
        raise ProofError(
            f"inclusion proof of leaf {index} in a tree of size {tree_size} leads to root "
            f"{r.hex()}, not the expected {bytes(root).hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``."""
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    _check_proof(proof)
    if old_size < 0 or new_size < 0:
        raise ProofError(f"tree sizes {old_size} and {new_size} must not be negative")
    if old_size > new_size:
        raise ProofError(
            f"old size {old_size} is larger than new size {new_size}: a log never shrinks"
        )
    if old_size == new_size:
        if proof:
            raise ProofError(f"proof between equal sizes ({old_size}) must be empty")
        if not _same(old_root, new_root):
            raise ProofError(
                f"two different roots for the same size {old_size}: "
                f"{bytes(old_root).hex()} and {bytes(new_root).hex()} (a fork)"
            )
        return
    if old_size == 0:
        if proof:
            raise ProofError("proof from the empty tree must be empty")
        if not _same(old_root, EMPTY_ROOT):
            raise ProofError(
                f"the root of the empty tree is {EMPTY_ROOT.hex()}, not {bytes(old_root).hex()}"
            )
        return
    # 1.
    if not proof:
        raise ProofError(f"consistency proof from size {old_size} to {new_size} is empty")
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof has {len(proof)} hashes: too many for sizes "
                f"{old_size} -> {new_size}"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError(
            f"consistency proof has {len(proof)} hashes: too few for sizes {old_size} -> {new_size}"
        )
    if not _same(fr, old_root):
        raise ProofError(
            f"consistency proof {old_size} -> {new_size} leads to old root {fr.hex()}, "
            f"not the expected {bytes(old_root).hex()}"
        )
    if not _same(sr, new_root):
        raise ProofError(
            f"consistency proof {old_size} -> {new_size} leads to new root {sr.hex()}, "
            f"not the expected {bytes(new_root).hex()}"
        )
