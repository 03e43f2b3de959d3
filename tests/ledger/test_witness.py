"""The witness (ledger.witness): cosigns only consistent, growing checkpoints of logs it knows."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ledger.checkpoint import sign_checkpoint
from ledger.cosignature import CosignatureVerifier, Cosigner
from ledger.errors import CheckpointError
from ledger.hashing import EMPTY_ROOT, leaf_hash
from ledger.keys import Signer
from ledger.tree import MerkleTree
from ledger.witness import Witness, WitnessConflictError, WitnessError

ORIGIN = "orderhub.test/log"
LOG = Signer.generate(ORIGIN)
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(40)]
TREE = MerkleTree(LEAVES)


def note(size: int, root: bytes | None = None) -> str:
    return sign_checkpoint(ORIGIN, size, TREE.root(size) if root is None else root, LOG)


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(
        Cosigner.generate("witness.test/w1"), [LOG.verifier_key()], tmp_path / "state.json"
    )


def test_cosigns_growth_from_the_empty_tree(witness: Witness) -> None:
    assert witness.latest(ORIGIN) == (0, EMPTY_ROOT)
    first = witness.add_checkpoint(note(10), 0, [], timestamp=100)
    verifier = CosignatureVerifier.from_text(witness.cosigner.verifier_key())
    assert verifier.verify(first.note) == 100
    assert witness.latest(ORIGIN) == (10, TREE.root(10))
    second = witness.add_checkpoint(note(25), 10, TREE.consistency_proof(10, 25))
    assert verifier.verify(second.note) == second.timestamp
    again = witness.add_checkpoint(note(25), 25, [])
    assert again.checkpoint.size == 25


def test_state_survives_a_new_witness_process(witness: Witness) -> None:
    witness.add_checkpoint(note(10), 0, [])
    reopened = Witness(witness.cosigner, [LOG.verifier_key()], witness.state_file)
    assert reopened.latest(ORIGIN) == (10, TREE.root(10))
    with pytest.raises(WitnessConflictError) as info:
        reopened.add_checkpoint(note(20), 0, [])
    assert info.value.known_size == 10


def test_refuses_forks_shrinking_bad_proofs_and_strangers(witness: Witness) -> None:
    witness.add_checkpoint(note(20), 0, [])
    with pytest.raises(WitnessError, match="a log never shrinks"):
        witness.add_checkpoint(note(15), 20, [])
    with pytest.raises(WitnessError, match="not consistent"):
        witness.add_checkpoint(note(20, leaf_hash(b"fork")), 20, [])
    forked = MerkleTree([*LEAVES[:19], leaf_hash(b"rewritten"), *LEAVES[20:]])
    with pytest.raises(WitnessError, match="not consistent"):
        witness.add_checkpoint(note(30, forked.root(30)), 20, forked.consistency_proof(20, 30))
    with pytest.raises(WitnessError, match="not consistent"):
        witness.add_checkpoint(note(30), 20, TREE.consistency_proof(20, 30)[:-1])
    other = Signer.generate("other.test/log")
    with pytest.raises(WitnessError, match=r"does not know the log 'other\.test/log'"):
        witness.add_checkpoint(sign_checkpoint("other.test/log", 1, LEAVES[0], other), 0, [])
    impostor = Signer.generate(ORIGIN)
    with pytest.raises(CheckpointError):
        witness.add_checkpoint(sign_checkpoint(ORIGIN, 30, TREE.root(30), impostor), 20, [])
    assert witness.latest(ORIGIN) == (20, TREE.root(20)), "nothing refused changed the state"


def test_concurrent_callers_never_make_it_go_backwards(witness: Witness) -> None:
    errors: list[BaseException] = []
    cosigned: list[int] = []

    def call(size: int) -> None:
        for _ in range(20):
            old, _root = witness.latest(ORIGIN)
            if old > size:
                return
            try:
                done = witness.add_checkpoint(note(size), old, TREE.consistency_proof(old, size))
                cosigned.append(done.checkpoint.size)
                return
            except WitnessConflictError:
                continue
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=call, args=(size,)) for size in (5, 12, 18, 33, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert witness.latest(ORIGIN)[0] == 40
    assert cosigned == sorted(cosigned), "cosigned sizes only grow"
