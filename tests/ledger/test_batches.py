"""Batch trees (ledger.batches): records prove their way up to the logged batch root."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import reference
from ledger.batches import (
    BatchTree,
    IndexedTree,
    RecordProof,
    StoredTree,
    TreeDigest,
    batch_root,
    content_hash,
    leaf_order,
    level_sizes,
    load_tree,
    open_tree,
    record_leaf,
    store_tree,
    stored_digests,
    verify_record,
)
from ledger.errors import ProofError
from ledger.hashing import EMPTY_ROOT, leaf_hash


def hashes(n: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"record {seed}/{i}".encode()).digest() for i in range(n)]


def test_leaf_is_the_rfc9162_leaf_of_the_32_raw_bytes() -> None:
    digest = content_hash(b'{"id":"SO-1"}')
    assert digest == hashlib.sha256(b'{"id":"SO-1"}').digest()
    assert record_leaf(digest) == hashlib.sha256(b"\x00" + digest).digest()
    assert record_leaf(digest) != leaf_hash(digest.hex().encode()), "not the hex text"
    with pytest.raises(ValueError, match="32 bytes"):
        record_leaf(b"short")


def test_empty_and_single_record_batches() -> None:
    assert batch_root([]) == EMPTY_ROOT
    (only,) = hashes(1)
    assert batch_root([only]) == record_leaf(only)
    proof = BatchTree([only]).stored().prove(only)
    assert proof == RecordProof(0, 1, ())
    verify_record(only, proof, record_leaf(only))


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 200), data=st.data())
def test_proofs_match_the_reference_and_verify(size: int, data: st.DataObject) -> None:
    leaves = hashes(size, size)
    tree = BatchTree(leaves)
    root = reference.root([record_leaf(h) for h in leaves])
    assert tree.root() == root == batch_root(leaves)
    index = data.draw(st.integers(0, size - 1), label="record")
    proof = tree.stored().prove(leaves[index])
    assert list(proof.path) == reference.inclusion_proof(index, [record_leaf(h) for h in leaves])
    verify_record(leaves[index], proof, root)
    with pytest.raises(ProofError):
        verify_record(hashlib.sha256(b"forged").digest(), proof, root)
    if index + 1 < size:
        with pytest.raises(ProofError):
            verify_record(leaves[index + 1], proof, root)


def test_a_record_not_in_the_batch_has_no_proof() -> None:
    leaves = hashes(5)
    with pytest.raises(ValueError, match="is not in the batch"):
        BatchTree(leaves).stored().prove(hashes(1, 9)[0])


def test_every_batch_tree_of_small_sizes_equals_the_reference() -> None:
    for size in range(0, 70):
        leaves = hashes(size, 3)
        fast = BatchTree(leaves).stored()
        rfc = [record_leaf(h) for h in leaves]
        assert fast.root() == reference.root(rfc), size
        for i in range(size):
            assert fast.inclusion_proof(i) == reference.inclusion_proof(i, rfc), (i, size)


def test_malformed_content_hashes_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes, not 3"):
        BatchTree([hashes(1)[0], b"abc"])
    with pytest.raises(ValueError, match="not in a batch of 2"):
        BatchTree(hashes(2)).stored().inclusion_proof(2)


def test_stored_levels_find_records_and_prove_them_by_slicing() -> None:
    for size in (1, 2, 3, 7, 8, 33):
        leaves = hashes(size, 5)
        tree = BatchTree(leaves)
        stored = StoredTree(size, tree.packed())
        assert stored == tree.stored()
        assert stored.root() == tree.root()
        assert len(tree.packed()) == 32 * sum(level_sizes(size))
        rfc = [record_leaf(h) for h in leaves]
        for i, h in enumerate(leaves):
            assert stored.index_of(h) == i
            assert stored.prove(h) == RecordProof(i, size, tuple(reference.inclusion_proof(i, rfc)))
    assert level_sizes(5) == [5, 3, 2, 1] and level_sizes(0) == [0]
    assert StoredTree(0, b"").root() == EMPTY_ROOT
    assert StoredTree(3, BatchTree(hashes(3)).packed()).index_of(hashes(1, 9)[0]) is None
    with pytest.raises(ValueError, match="packed levels of a 4-leaf tree"):
        StoredTree(4, BatchTree(hashes(3)).packed())


def test_a_leaf_found_across_a_hash_boundary_is_not_a_match() -> None:
    leaves = hashes(4, 1)
    stored = StoredTree(4, BatchTree(leaves).packed())
    straddling = stored.levels[16:48]  # the tail of leaf 0 and the head of leaf 1
    assert stored.levels.find(straddling) == 16
    assert all(stored.index_of(h) == i for i, h in enumerate(leaves))


def test_leaf_order_is_bytewise_by_key_then_content_hash() -> None:
    low, high = b"\x01" * 32, b"\xf0" * 32
    records = [
        ("b", low),
        ("Ä", low),  # UTF-8 c3 84: after every ASCII key
        ("10", low),
        ("9", low),  # "10" < "9" bytewise, unlike numbers
        ("a", high),
        ("a", low),  # one key, two versions: by content hash bytes
        ("B", low),  # uppercase before lowercase, unlike a linguistic collation
    ]
    assert leaf_order(records) == [low, low, low, low, high, low, low]
    ordered = sorted(records, key=lambda r: (r[0].encode(), r[1]))
    assert [k for k, _ in ordered] == ["10", "9", "B", "a", "a", "b", "Ä"]
    assert leaf_order(reversed(records)) == leaf_order(records)
    tree = BatchTree.of_records(records)
    assert tree.root() == reference.root([record_leaf(h) for _, h in ordered])
    assert BatchTree.of_records([]).root() == EMPTY_ROOT


def test_trees_are_kept_in_the_ledger(db_url: str) -> None:
    from ledger import store

    with psycopg.connect(db_url) as conn:
        store.ensure_schema(conn)
        assert load_tree(conn, "b-1") is None
        tree = BatchTree(hashes(9))
        store_tree(conn, "b-1", tree)
        stored = load_tree(conn, "b-1")
        assert stored is not None and stored.root() == tree.root() and stored.size == 9
        assert stored_digests(conn) == {"b-1": TreeDigest.of(tree)}
        store_tree(conn, "b-1", BatchTree(hashes(2)))  # replaced, e.g. after a rebuild
        assert load_tree(conn, "b-1").size == 2  # type: ignore[union-attr]
        assert stored_digests(conn)["b-1"] == TreeDigest.of(BatchTree(hashes(2)))
        assert stored_digests(conn)["b-1"] != TreeDigest.of(tree)


def test_a_stored_tree_proves_a_record_from_slices_of_its_levels(db_url: str) -> None:
    from ledger import store

    with psycopg.connect(db_url) as conn:
        store.ensure_schema(conn)
        for size in (1, 2, 7, 64, 301):
            leaves = hashes(size) + hashes(3, seed=size)[:2]  # two duplicated hashes
            leaves[-2:] = leaves[1:3] if size > 2 else leaves[-2:]
            tree = BatchTree(leaves)
            store_tree(conn, f"t-{size}", tree)
            indexed = open_tree(conn, f"t-{size}")
            assert isinstance(indexed, IndexedTree)
            assert (indexed.size, indexed.root()) == (tree.size, tree.root())
            whole = tree.stored()
            for digest in set(leaves):
                proof = indexed.prove(digest)
                assert proof == whole.prove(digest), f"size {size}: the first leaf, as a scan"
                verify_record(digest, proof, tree.root())
            with pytest.raises(ValueError, match="not in the tree"):
                indexed.prove(hashes(1, seed=999)[0])
        assert open_tree(conn, "absent") is None


def test_a_tree_stored_before_the_leaf_index_is_read_whole(db_url: str) -> None:
    from ledger import store

    with psycopg.connect(db_url) as conn:
        store.ensure_schema(conn)
        tree = BatchTree(hashes(5))
        store_tree(conn, "old", tree)
        conn.execute("update ledger.batch_trees set leaf_index = null where batch_id = 'old'")
        whole = open_tree(conn, "old")
        assert isinstance(whole, StoredTree)
        assert whole.prove(hashes(5)[3]) == tree.stored().prove(hashes(5)[3])
