"""Compact ranges: the right border of a log as its perfect subtrees.

A log of ``n`` leaves is the perfect subtrees of ``[0, n)`` (one per set bit of
``n``; see :mod:`ledger.layout`). Appending a leaf pushes it as a level-0
subtree and merges equal-sized neighbours, each merge completing one new
perfect subtree. This is transparency-dev/merkle's ``compact.Range`` for ranges
starting at 0: what :mod:`ledger.store` uses to compute, in Python, exactly the
nodes an append adds, from the O(log n) hashes already stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ledger import layout
from ledger.hashing import node_hash


@dataclass
class CompactRange:
    """The perfect subtrees covering ``[0, size)``, largest first."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        want = len(layout.root_nodes(self.size))
        if len(self.hashes) != want:
            raise ValueError(
                f"a compact range of size {self.size} has {want} hashes, not {len(self.hashes)}"
            )

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return the perfect subtrees ``(level, index, hash)`` it completed.

        The leaf itself (level 0) is not returned.
        """
        created: list[tuple[int, int, bytes]] = []
        index = self.size
        self.hashes.append(leaf_hash)
        level = 0
        while (index >> level) & 1:
            right = self.hashes.pop()
            left = self.hashes.pop()
            level += 1
            merged = node_hash(left, right)
            self.hashes.append(merged)
            created.append((level, index >> level, merged))
        self.size += 1
        return created

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """Append every leaf; return all the perfect subtrees completed, in order."""
        created: list[tuple[int, int, bytes]] = []
        for h in leaf_hashes:
            created.extend(self.append(h))
        return created

    def root(self) -> bytes:
        """MTH of the leaves ``[0, size)``."""
        return layout.fold(self.hashes)


def from_nodes(size: int, hashes: Sequence[bytes]) -> CompactRange:
    """The compact range of a log of ``size`` leaves, given ``layout.root_nodes(size)``'s hashes."""
    return CompactRange(size, list(hashes))
