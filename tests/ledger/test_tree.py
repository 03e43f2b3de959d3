"""The fast tree (ledger.tree) against RFC 9162 as written (ledger.reference) and known values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import compact, layout, reference, tree
from ledger.hashing import EMPTY_ROOT, leaf_hash

VECTORS = json.loads((Path(__file__).parent / "testdata" / "rfc6962.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]
INCLUSION = [
    (v["index"], v["size"], [bytes.fromhex(p) for p in v["proof"]]) for v in VECTORS["inclusion"]
]
CONSISTENCY = [
    (v["old_size"], v["new_size"], [bytes.fromhex(p) for p in v["proof"]])
    for v in VECTORS["consistency"]
]
HASHES = [leaf_hash(d) for d in LEAVES]
IMPLEMENTATIONS = [pytest.param(reference, id="reference"), pytest.param(tree, id="tree")]


def leaves(n: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"{seed}/{i}".encode()).digest() for i in range(n)]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_known_roots(impl: ModuleType) -> None:
    assert impl.root([]) == EMPTY_ROOT
    for size, want in enumerate(ROOTS, start=1):
        assert impl.root(HASHES[:size]) == want, f"root of size {size}"


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_single_leaf_root_is_its_leaf_hash(impl: ModuleType) -> None:
    assert impl.root([leaf_hash(b"data")]) == leaf_hash(b"data")
    assert impl.inclusion_proof(0, [leaf_hash(b"data")]) == []


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_known_inclusion_proofs(
    impl: ModuleType, index: int, size: int, proof: list[bytes]
) -> None:
    assert impl.inclusion_proof(index, HASHES[:size]) == proof


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_known_consistency_proofs(impl: ModuleType, old: int, new: int, proof: list[bytes]) -> None:
    assert impl.consistency_proof(old, HASHES[:new]) == proof


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_trivial_consistency_proofs_are_empty(impl: ModuleType) -> None:
    assert impl.consistency_proof(0, HASHES) == []
    assert impl.consistency_proof(8, HASHES) == []


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_out_of_range_is_refused(impl: ModuleType) -> None:
    with pytest.raises(ValueError):
        impl.inclusion_proof(8, HASHES)
    with pytest.raises(ValueError):
        impl.inclusion_proof(-1, HASHES)
    with pytest.raises(ValueError):
        impl.consistency_proof(9, HASHES)


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(size=sizes, seed=st.integers(0, 2**16))
def test_roots_match_reference(size: int, seed: int) -> None:
    hashes = leaves(size, seed)
    fast = tree.MerkleTree(hashes)
    for n in {0, 1, size // 2, size - 1, size}:
        assert fast.root(n) == reference.root(hashes[:n])


@settings(max_examples=80, deadline=None)
@given(data=st.data(), size=sizes)
def test_inclusion_proofs_match_reference(data: st.DataObject, size: int) -> None:
    hashes = leaves(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    assert tree.inclusion_proof(index, hashes) == reference.inclusion_proof(index, hashes)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), size=sizes)
def test_consistency_proofs_match_reference(data: st.DataObject, size: int) -> None:
    hashes = leaves(size)
    old = data.draw(st.integers(0, size), label="old size")
    assert tree.consistency_proof(old, hashes) == reference.consistency_proof(old, hashes)


def test_every_proof_of_small_trees_matches_reference() -> None:
    for size in range(1, 34):
        hashes = leaves(size)
        fast = tree.MerkleTree(hashes)
        for i in range(size):
            assert fast.inclusion_proof(i) == reference.inclusion_proof(i, hashes), (i, size)
        for old in range(size + 1):
            assert fast.consistency_proof(old) == reference.consistency_proof(old, hashes)


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 2**40), length=st.integers(0, 2**20))
def test_perfect_subtrees_tile_the_range(start: int, length: int) -> None:
    nodes = layout.perfect_subtrees(start, start + length)
    pos = start
    for level, index in nodes:
        assert index << level == pos, "subtrees are contiguous and aligned"
        pos += 1 << level
    assert pos == start + length
    assert len(nodes) <= 2 * 41


def test_compact_range_creates_exactly_the_stored_nodes() -> None:
    hashes = leaves(77)
    full = tree.MerkleTree(hashes)
    rng = compact.CompactRange()
    seen: set[tuple[int, int]] = set()
    for i, leaf in enumerate(hashes):
        for level, index, value in rng.append(leaf):
            assert value == full.node(level, index)
            assert (index + 1) << level == i + 1, "a subtree is completed by its last leaf"
            seen.add((level, index))
        assert rng.root() == reference.root(hashes[: i + 1])
    expected = {(lv, i) for lv in range(1, 7) for i in range(77 >> lv)}
    assert seen == expected
