"""Where the hashes of an RFC 9162 tree come from: perfect subtrees.

A *perfect subtree* ``(level, index)`` is the complete binary tree over the
``2**level`` leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 is a
leaf. Once the log has grown past its last leaf, a perfect subtree never
changes, so it can be stored once and read forever (the layout of
transparency-dev's tiles and compact ranges).

Every node of the RFC 9162 tree over ``n`` leaves (§2.1.1) covers a range
``[a, b)`` where ``a`` is a multiple of the smallest power of two >= ``b - a``.
Such a range splits into at most log2(n) perfect subtrees of strictly
decreasing size, and its Merkle Tree Hash is those subtrees folded from the
right: ``MTH = node_hash(p1, node_hash(p2, ... pk))``. So a root or a proof
never needs more than O(log^2 n) stored hashes.

This module only computes addresses; :mod:`ledger.tree` and :mod:`ledger.store`
supply the hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.hashing import EMPTY_ROOT, node_hash

#: A leaf range ``[start, end)``.
Range = tuple[int, int]
#: A perfect subtree ``(level, index)``.
Node = tuple[int, int]


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[Node]:
    """The perfect subtrees that tile ``[start, end)``, left to right (largest aligned first)."""
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    out: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start & ((1 << level) - 1):
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of an RFC 9162 subtree from its perfect subtrees' hashes, folded from the right."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(index, D[size]), bottom-up (§2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_ranges(old_size: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(old_size, D[size]), in proof order (§2.1.4.1).

    Empty when ``old_size`` is 0 or equals ``size``.
    """
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} is not between 0 and {size}")
    if old_size in (0, size):
        return []
    outer: list[Range] = []
    lo, hi, whole = 0, size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size <= lo + k:
            outer.append((lo + k, hi))
            hi = lo + k
        else:
            outer.append((lo, lo + k))
            lo += k
            whole = False
    outer.reverse()
    return outer if whole else [(lo, hi), *outer]


def root_nodes(size: int) -> list[Node]:
    """The perfect subtrees that fold into the root of a tree of ``size`` leaves."""
    return perfect_subtrees(0, size)


def nodes_for(ranges: Iterable[Range]) -> list[list[Node]]:
    """The perfect subtrees of each range, in order."""
    return [perfect_subtrees(a, b) for a, b in ranges]
