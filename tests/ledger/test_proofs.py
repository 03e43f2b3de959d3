"""RFC 9162 §2.1.3.2 / §2.1.4.2 verification: accepts every honest proof, refuses tampering."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import reference, tree
from ledger.errors import ProofError
from ledger.hashing import EMPTY_ROOT, leaf_hash
from ledger.proofs import verify_consistency, verify_inclusion

VECTORS = json.loads((Path(__file__).parent / "testdata" / "rfc6962.json").read_text())
HASHES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]
SOME_HASH = hashlib.sha256(b"some other hash").digest()


def leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(f"leaf/{i}".encode()).digest() for i in range(n)]


def flip(value: bytes, bit: int = 3) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


def refused(check: Callable[[], None]) -> str:
    with pytest.raises(ProofError) as info:
        check()
    return str(info.value)


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=lambda v: f"{v['index']}of{v['size']}")
def test_known_inclusion_proofs_verify(vector: dict[str, object]) -> None:
    index, size = int(vector["index"]), int(vector["size"])  # type: ignore[call-overload]
    proof = [bytes.fromhex(p) for p in vector["proof"]]  # type: ignore[attr-defined]
    verify_inclusion(HASHES[index], index, size, proof, ROOTS[size - 1])
    refused(lambda: verify_inclusion(HASHES[index], index, size, proof, EMPTY_ROOT))


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['old_size']}to{v['new_size']}"
)
def test_known_consistency_proofs_verify(vector: dict[str, object]) -> None:
    old, new = int(vector["old_size"]), int(vector["new_size"])  # type: ignore[call-overload]
    proof = [bytes.fromhex(p) for p in vector["proof"]]  # type: ignore[attr-defined]
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)
    refused(lambda: verify_consistency(old, new, ROOTS[new - 1], ROOTS[old - 1], proof))


def test_single_leaf_tree() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)
    assert "not below the tree size" in refused(lambda: verify_inclusion(h, 1, 1, [], h))
    assert "not below the tree size" in refused(lambda: verify_inclusion(h, 0, 0, [], h))
    assert "32 bytes" in refused(lambda: verify_inclusion(b"", 0, 1, [], h))
    assert "32 bytes" in refused(lambda: verify_inclusion(h, 0, 1, [b"short"], h))


def test_trivial_consistency() -> None:
    root = ROOTS[3]
    verify_consistency(4, 4, root, root, [])
    verify_consistency(0, 4, EMPTY_ROOT, root, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert "fork" in refused(lambda: verify_consistency(4, 4, root, ROOTS[2], []))
    assert "must be empty" in refused(lambda: verify_consistency(4, 4, root, root, [root]))
    assert "must be empty" in refused(lambda: verify_consistency(0, 4, EMPTY_ROOT, root, [root]))
    assert "empty tree" in refused(lambda: verify_consistency(0, 4, root, root, []))
    assert "never shrinks" in refused(lambda: verify_consistency(5, 4, root, root, [root]))
    assert "is empty" in refused(lambda: verify_consistency(1, 2, ROOTS[0], ROOTS[1], []))


sizes = st.integers(min_value=1, max_value=260)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), size=sizes)
def test_inclusion_proofs_verify_and_tampering_is_refused(data: st.DataObject, size: int) -> None:
    hashes = leaves(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = reference.inclusion_proof(index, hashes)
    root = reference.root(hashes)
    leaf = hashes[index]
    verify_inclusion(leaf, index, size, proof, root)

    refused(lambda: verify_inclusion(flip(leaf), index, size, proof, root))
    refused(lambda: verify_inclusion(leaf, index, size, proof, flip(root)))
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        refused(lambda: verify_inclusion(leaf, other, size, proof, root))
    refused(lambda: verify_inclusion(leaf, index, size, [*proof, SOME_HASH], root))
    refused(lambda: verify_inclusion(leaf, index, size, [SOME_HASH, *proof], root))
    refused(lambda: verify_inclusion(leaf, index, size * 2, proof, root))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="tampered hash")
        bit = data.draw(st.integers(0, 7), label="bit")
        tampered = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
        refused(lambda: verify_inclusion(leaf, index, size, tampered, root))
        refused(lambda: verify_inclusion(leaf, index, size, proof[:-1], root))
        if size // 2 > index:
            refused(lambda: verify_inclusion(leaf, index, size // 2, proof, root))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), size=st.integers(min_value=2, max_value=260))
def test_consistency_proofs_verify_and_tampering_is_refused(data: st.DataObject, size: int) -> None:
    hashes = leaves(size)
    old = data.draw(st.integers(1, size - 1), label="old size")
    proof = tree.consistency_proof(old, hashes)
    old_root, new_root = reference.root(hashes[:old]), reference.root(hashes)
    verify_consistency(old, size, old_root, new_root, proof)

    refused(lambda: verify_consistency(old, size, flip(old_root), new_root, proof))
    refused(lambda: verify_consistency(old, size, old_root, flip(new_root), proof))
    refused(lambda: verify_consistency(old, size, new_root, old_root, proof))
    refused(lambda: verify_consistency(old, size, old_root, new_root, []))
    refused(lambda: verify_consistency(old, size, old_root, new_root, proof[:-1]))
    refused(lambda: verify_consistency(old, size, old_root, new_root, [*proof, SOME_HASH]))
    refused(lambda: verify_consistency(old, size, old_root, new_root, [proof[0], *proof]))
    refused(lambda: verify_consistency(old, size * 2, old_root, new_root, proof))
    other = data.draw(st.integers(1, size).filter(lambda m: m != old), label="other old size")
    refused(lambda: verify_consistency(other, size, old_root, new_root, proof))
    at = data.draw(st.integers(0, len(proof) - 1), label="tampered hash")
    bit = data.draw(st.integers(0, 7), label="bit")
    tampered = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
    refused(lambda: verify_consistency(old, size, old_root, new_root, tampered))


def test_messages_say_what_failed() -> None:
    hashes = leaves(8)
    proof = reference.inclusion_proof(5, hashes)
    root = reference.root(hashes)
    assert "too many" in refused(lambda: verify_inclusion(hashes[5], 5, 8, [*proof, root], root))
    assert "too few" in refused(lambda: verify_inclusion(hashes[5], 5, 8, proof[:-1], root))
    assert "leads to root" in refused(lambda: verify_inclusion(hashes[4], 5, 8, proof, root))
    cproof = reference.consistency_proof(3, hashes)
    old_root = reference.root(hashes[:3])
    assert "old root" in refused(lambda: verify_consistency(3, 8, root, root, cproof))
    assert "new root" in refused(lambda: verify_consistency(3, 8, old_root, old_root, cproof))
