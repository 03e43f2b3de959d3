"""The Merkle tree of one extraction batch: a record proves its way up to the batch root.

An ``extraction_batch`` event carries the RFC 9162 root of a tree whose leaves are
the records the batch stored, each given by the 32 bytes of its content hash (SHA-256 of
the record's RFC 8785 canonical JSON):

    leaf(record) = SHA-256(0x00 || content_hash)

(:func:`ledger.hashing.leaf_hash` of the raw 32 bytes, not of their hex text), in leaf
order: bytewise by the record key's UTF-8 bytes, then by the 32 content-hash bytes
(:func:`leaf_key`, :func:`leaf_order`; no locale, so anyone recomputes the same root). A
record is then in its batch when :func:`verify_record` accepts its inclusion proof
against the logged root, the same RFC 9162 §2.1.3.2 check as for log entries.

A built tree is kept in ``ledger.batch_trees`` (:func:`store_tree`; the table and
``ledger.tree_proof`` are created by :mod:`ledger.batch_trees_ddl`) as its levels packed
end to end (level 0, the leaves, first) and its *leaf index*: every leaf hash with its
position, sorted by hash (:meth:`BatchTree.packed_index`). Both are stored uncompressed
out of line, so the server reads a slice of them without reading the rest:
:func:`open_tree` finds a record by a search on the leaf index in the server and reads its
O(log n) proof hashes there (``ledger.tree_proof``: the entries around where the leaf's
first bytes put it in one slice - leaf hashes are uniform - and a binary search on slices
when it is not among them, then the path's slices in one query; one round trip:
:class:`IndexedTree`), so a proof costs about the same in a batch of a million records as
in one of a thousand. A tree stored before the leaf index was (schema 3) is read whole
(:class:`StoredTree`, which finds a record by scanning its leaves). The ledger never reads
a batch's records: whoever stores them builds the tree (:meth:`BatchTree.of_records`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from ledger.errors import ProofError
from ledger.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash
from ledger.proofs import verify_inclusion
from ledger.sessions import reading

#: Bytes of one leaf-index entry: the leaf hash, then its position as 4 bytes big-endian.
_INDEX_ENTRY = HASH_SIZE + 4

#: How the leaves of a batch tree are made, as written into extraction events.
LEAF_RULE = "sha256(0x00 || content_hash) ordered by (record_key, content_hash)"


def leaf_key(record_key: str, content_hash_: bytes) -> tuple[bytes, bytes]:
    """Where a record sorts among its batch's leaves: by the UTF-8 bytes of its key, then
    by its 32 content-hash bytes, both compared bytewise."""
    return record_key.encode("utf-8"), content_hash_


def leaf_order(records: Iterable[tuple[str, bytes]]) -> list[bytes]:
    """The content hashes of a batch's ``(record_key, content_hash)`` records, in leaf order."""
    return [digest for _, digest in sorted(leaf_key(key, digest) for key, digest in records)]


def record_leaf(content_hash: bytes) -> bytes:
    """The leaf hash of a record with the 32-byte ``content_hash``."""
    if len(content_hash) != HASH_SIZE:
        raise ValueError(f"a content hash has {HASH_SIZE} bytes, not {len(content_hash)}")
    return leaf_hash(content_hash)


def content_hash(canonical: bytes) -> bytes:
    """SHA-256 of a record's canonical JSON bytes: what a batch leaf commits to."""
    return hashlib.sha256(canonical).digest()


@dataclass(frozen=True)
class RecordProof:
    """Where a record sits in its batch tree and the audit path to the root."""

    index: int
    size: int
    path: tuple[bytes, ...]


class BatchTree:
    """Every level of the RFC 9162 tree over a batch, built in one pass per level.

    A batch is hashed whole, often (to prove one record, or to check a root), so this
    is the fast form of :class:`~ledger.tree.MerkleTree` for a fixed set of leaves:
    level ``l + 1`` pairs up level ``l`` and carries an unpaired last node up
    unchanged, which is exactly RFC 9162's split at the largest power of two (each
    level is a list comprehension over ``hashlib``; compared with
    :mod:`ledger.reference` in the tests).
    """

    def __init__(self, content_hashes: Iterable[bytes]) -> None:
        sha256 = hashlib.sha256
        hashes = list(content_hashes)
        wrong = next((h for h in hashes if len(h) != HASH_SIZE), None)
        if wrong is not None:
            raise ValueError(f"a content hash has {HASH_SIZE} bytes, not {len(wrong)}")
        level = [sha256(b"\x00" + h).digest() for h in hashes]
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            paired = [
                sha256(b"\x01" + level[i] + level[i + 1]).digest()
                for i in range(0, len(level) - 1, 2)
            ]
            if len(level) % 2:
                paired.append(level[-1])
            self.levels.append(paired)
            level = paired

    @classmethod
    def of_records(cls, records: Iterable[tuple[str, bytes]]) -> BatchTree:
        """The tree over ``(record_key, content_hash)`` records, taken in leaf order."""
        return cls(leaf_order(records))

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def root(self) -> bytes:
        """MTH of the batch (``SHA-256()`` when it is empty)."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def packed(self) -> bytes:
        """Every level, leaves first, each hash 32 bytes, end to end."""
        return b"".join(h for level in self.levels for h in level)

    def packed_index(self) -> bytes:
        """Every leaf hash followed by its position (4 bytes, big-endian), sorted by hash
        and then position, end to end: what ``ledger.tree_proof`` searches."""
        leaves = self.levels[0]
        if len(leaves) >= 1 << 32:
            raise ValueError(f"a stored tree holds fewer than 2**32 leaves, not {len(leaves)}")
        order = sorted(range(len(leaves)), key=leaves.__getitem__)
        return b"".join(leaves[i] + i.to_bytes(4, "big") for i in order)

    def stored(self) -> StoredTree:
        """The tree as packed levels, which proves records by slicing."""
        return StoredTree(self.size, self.packed())


def level_sizes(size: int) -> list[int]:
    """How many hashes each level of a batch tree of ``size`` leaves has, leaves first."""
    sizes = [size]
    while sizes[-1] > 1:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


@dataclass(frozen=True)
class StoredTree:
    """A batch tree as packed levels (what ``ledger.batch_trees`` keeps)."""

    size: int
    levels: bytes

    def __post_init__(self) -> None:
        if len(self.levels) != HASH_SIZE * sum(level_sizes(self.size)):
            raise ValueError(
                f"packed levels of a {self.size}-leaf tree have "
                f"{HASH_SIZE * sum(level_sizes(self.size))} bytes, not {len(self.levels)}"
            )

    def root(self) -> bytes:
        return self.levels[-HASH_SIZE:] if self.size else EMPTY_ROOT

    def index_of(self, content_hash_: bytes) -> int | None:
        """The leaf index of the record with ``content_hash_``, or None."""
        wanted = record_leaf(content_hash_)
        start, end = 0, self.size * HASH_SIZE
        while (at := self.levels.find(wanted, start, end)) >= 0:
            if at % HASH_SIZE == 0:
                return at // HASH_SIZE
            start = at + 1
        return None

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D[size]), sliced from the stored levels."""
        if not 0 <= index < self.size:
            raise ValueError(f"index {index} is not in a batch of {self.size} records")
        path, offset = [], 0
        for count in level_sizes(self.size)[:-1]:
            sibling = index ^ 1
            if sibling < count:
                at = (offset + sibling) * HASH_SIZE
                path.append(self.levels[at : at + HASH_SIZE])
            offset += count
            index >>= 1
        return path

    def prove(self, content_hash_: bytes) -> RecordProof:
        """The proof of the record with ``content_hash_``; ValueError when it is not a leaf."""
        index = self.index_of(content_hash_)
        if index is None:
            raise ValueError(f"content hash {content_hash_.hex()} is not in the batch")
        return RecordProof(index, self.size, tuple(self.inclusion_proof(index)))


def store_tree(conn: psycopg.Connection[Any], batch_id: str, tree: BatchTree) -> None:
    """Keep ``tree``'s levels for ``batch_id``, replacing a stored one (in the caller's
    transaction when one is open, so a batch and its tree commit together).

    Store the tree a batch's root is taken from as the batch stores its records, or a
    rebuilt tree whose root was checked against the batch's log entry: audit traces read
    proofs from this table (and check each proof before handing it out).
    """
    with conn.transaction():
        conn.execute(
            "insert into ledger.batch_trees (batch_id, tree_size, root_hash, levels, leaf_index)"
            " values (%s, %s, %s, %s, %s) on conflict (batch_id) do update set"
            " tree_size = excluded.tree_size, root_hash = excluded.root_hash,"
            " levels = excluded.levels, leaf_index = excluded.leaf_index",
            (batch_id, tree.size, tree.root(), tree.packed(), tree.packed_index()),
        )


def load_tree(conn: psycopg.Connection[Any], batch_id: str) -> StoredTree | None:
    """The stored tree of ``batch_id``, or None."""
    with reading(conn):
        row = conn.execute(
            "select tree_size, levels from ledger.batch_trees where batch_id = %s", (batch_id,)
        ).fetchone()
    return None if row is None else StoredTree(int(row[0]), bytes(row[1]))


@dataclass(frozen=True)
class IndexedTree:
    """A stored tree with a leaf index, read a slice at a time (see the module): the same
    ``size``, ``root()`` and ``prove()`` as :class:`StoredTree`, without loading it."""

    conn: psycopg.Connection[Any]
    tree_id: str
    size: int
    root_hash: bytes

    def root(self) -> bytes:
        return self.root_hash

    def prove(self, content_hash_: bytes) -> RecordProof:
        """The proof of the record with ``content_hash_``; ValueError when it is not a leaf.

        One round trip: ``ledger.tree_proof`` searches the leaf index and reads the path.
        """
        row = self.conn.execute(
            "select idx, path from ledger.tree_proof(%s, %s)",
            (self.tree_id, record_leaf(content_hash_)),
        ).fetchone()
        if row is None:
            raise ValueError(f"content hash {content_hash_.hex()} is not in the tree")
        return indexed_proof(self.tree_id, self.size, row[0], row[1])


def indexed_proof(tree_id: str, size: int, index: int | None, path: Any) -> RecordProof:
    """The proof ``ledger.tree_proof`` answered for a leaf of the ``size``-leaf tree
    ``tree_id``; ValueError when the leaf is not in it or the stored path is short."""
    at = -1 if index is None else int(index)
    if not 0 <= at < size:
        raise ValueError(f"the leaf is not in the tree {tree_id}")
    hashes = tuple(bytes(h) for h in path or ())
    expected = sum(1 for n, count in enumerate(level_sizes(size)[:-1]) if (at >> n) ^ 1 < count)
    if len(hashes) != expected or any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError(f"the stored tree {tree_id} is shorter than its size")
    return RecordProof(at, size, hashes)


def open_tree(conn: psycopg.Connection[Any], tree_id: str) -> IndexedTree | StoredTree | None:
    """The stored tree ``tree_id`` to prove records from, or None: an :class:`IndexedTree`
    when it has a leaf index, else the whole :class:`StoredTree` (a tree of schema 3)."""
    row = conn.execute(
        "select tree_size, root_hash, leaf_index is not null from ledger.batch_trees"
        " where batch_id = %s",
        (tree_id,),
    ).fetchone()
    if row is None:
        return None
    if not row[2]:
        return load_tree(conn, tree_id)
    return IndexedTree(conn, tree_id, int(row[0]), bytes(row[1]))


@dataclass(frozen=True)
class TreeDigest:
    """What tells a stored tree apart without reading its levels: size, root and the
    SHA-256 of its packed levels followed by its leaf index (a tree stored without a leaf
    index, by schema 3, differs from the one :meth:`of` gives: store it again)."""

    size: int
    root: bytes
    levels_sha256: bytes

    @classmethod
    def of(cls, tree: BatchTree) -> TreeDigest:
        packed = tree.packed() + tree.packed_index()
        return cls(tree.size, tree.root(), hashlib.sha256(packed).digest())


def stored_digests(conn: psycopg.Connection[Any]) -> dict[str, TreeDigest]:
    """:class:`TreeDigest` of every stored tree, by batch id (hashed by the server)."""
    with conn.transaction():
        rows = conn.execute(
            "select batch_id, tree_size, root_hash,"
            " sha256(levels || coalesce(leaf_index, ''::bytea)) from ledger.batch_trees"
        ).fetchall()
    return {str(b): TreeDigest(int(n), bytes(r), bytes(h)) for b, n, r, h in rows}


def batch_root(content_hashes: Iterable[bytes]) -> bytes:
    """RFC 9162 root over a batch's content hashes (``SHA-256()`` for an empty batch)."""
    return BatchTree(content_hashes).root()


def verify_record(content_hash_: bytes, proof: RecordProof, root: bytes) -> None:
    """Check that the record with ``content_hash_`` is leaf ``proof.index`` under ``root``."""
    if len(content_hash_) != HASH_SIZE:
        raise ProofError(f"a content hash has {HASH_SIZE} bytes, not {len(content_hash_)}")
    verify_inclusion(leaf_hash(content_hash_), proof.index, proof.size, proof.path, root)
