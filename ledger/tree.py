"""An RFC 9162 Merkle tree in memory, built from stored perfect subtrees.

The tree keeps every perfect subtree hash (see :mod:`ledger.layout`), level by
level, and grows in amortised O(1) hashes per appended leaf. Roots and proofs
for any size up to the current one are folded from at most O(log^2 n) of those
hashes, the same way :mod:`ledger.store` answers from PostgreSQL. The results
equal RFC 9162 §2.1.1 to §2.1.4 (checked against :mod:`ledger.reference`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger import layout
from ledger.hashing import HASH_SIZE, node_hash


class MerkleTree:
    """An append-only Merkle tree over leaf hashes."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; return its index."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf_hash)}")
        index = self.size
        self._levels[0].append(leaf_hash)
        level, i = 0, index
        while i & 1:  # a right child completes its parent
            row = self._levels[level]
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(row[i - 1], row[i]))
            level, i = level + 1, i >> 1
        return index

    def node(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree ``(level, index)``."""
        return self._levels[level][index]

    def _range_hashes(self, ranges: Sequence[layout.Range]) -> list[bytes]:
        return [
            layout.fold([self.node(lv, i) for lv, i in nodes]) for nodes in layout.nodes_for(ranges)
        ]

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is not between 0 and the tree size {self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self._check_size(size)
        return layout.fold([self.node(lv, i) for lv, i in layout.root_nodes(size)])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size])."""
        size = self._check_size(size)
        return self._range_hashes(layout.inclusion_ranges(index, size))

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[size])."""
        size = self._check_size(size)
        return self._range_hashes(layout.consistency_ranges(old_size, size))


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the given leaf hashes."""
    return MerkleTree(leaf_hashes).root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over the given leaf hashes."""
    return MerkleTree(leaf_hashes).inclusion_proof(index)


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) over the given leaf hashes (empty for 0 and n)."""
    return MerkleTree(leaf_hashes).consistency_proof(old_size)
