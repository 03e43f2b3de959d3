"""The provenance log facade: events in, signed checkpoints out, never shrinking."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from ledger import store
from ledger.canonical import canonical_json
from ledger.checkpoint import open_checkpoint
from ledger.errors import CheckpointConflictError
from ledger.hashing import leaf_hash
from ledger.keys import Signer
from ledger.kinds import EventKinds
from ledger.log import ProvenanceLog, latest_checkpoint
from ledger.proofs import verify_consistency, verify_inclusion

ORIGIN = "orderhub.test/provenance"
#: The kinds this test's caller records (the ledger itself knows none).
KINDS = EventKinds(
    {
        "extraction_batch": (),
        "dbt_build": (),
        "validation": ("suite",),
        "model_training": (),
        "publish": (),
    }
)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture
def log(db_url: str, signer: Signer) -> Iterator[ProvenanceLog]:
    with ProvenanceLog(db_url, ORIGIN, signer, kinds=KINDS) as opened:
        yield opened


def test_events_are_canonical_leaves(log: ProvenanceLog) -> None:
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    payload = {"system": "erp", "records": 3}
    first = log.append_event("extraction_batch", payload, recorded_at=moment)
    second = log.append_event("dbt_build", {"invocation": "abc"})
    assert (first, second) == (0, 1)
    event, hash_ = log.leaf(0)
    assert event == {
        "kind": "extraction_batch",
        "payload": {"records": 3, "system": "erp"},
        "recorded_at": "2025-03-01T12:00:00.000000Z",
    }
    assert hash_ == leaf_hash(canonical_json(event))
    assert log.leaf(1)[0]["recorded_at"].endswith("Z")
    indexes = log.append_events([("validation", {"suite": "s", "ok": True}), ("publish", {})])
    assert indexes == [2, 3]
    assert log.tree_size() == 4


def test_unknown_kind_and_bad_input_are_refused(log: ProvenanceLog) -> None:
    with pytest.raises(ValueError, match="unknown provenance event kind 'deploy'"):
        log.append_event("deploy", {})
    with pytest.raises(ValueError, match=r"^the payload of a validation event lacks suite$"):
        log.append_event("validation", {"ok": True})
    with pytest.raises(TypeError, match="payload of a publish event must be a mapping, not list"):
        log.append_event("publish", [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no time zone"):
        log.append_event("publish", {}, recorded_at=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match=r"\$.payload.amount: nan"):
        log.append_event("publish", {"amount": float("nan")})
    assert log.tree_size() == 0


def test_the_caller_names_the_kinds_and_their_fields(db_url: str, signer: Signer) -> None:
    own = EventKinds({"deploy": ("service", "version")})
    with ProvenanceLog(db_url, ORIGIN, signer, kinds=own) as log:
        assert log.append_event("deploy", {"service": "api", "version": 2, "note": "x"}) == 0
        with pytest.raises(
            ValueError,
            match=r"unknown provenance event kind 'publish'; expected one of \['deploy'\]",
        ):
            log.append_event("publish", {})
        with pytest.raises(ValueError, match="lacks service, version"):
            log.append_events([("deploy", {"service": "a", "version": 1}), ("deploy", {})])
        assert log.tree_size() == 1, "a batch with one bad event appends nothing"
    with pytest.raises(TypeError, match="kinds must be an EventKinds, not dict"):
        ProvenanceLog(db_url, ORIGIN, signer, kinds={"deploy": ()})  # type: ignore[arg-type]


def test_event_kinds_are_names_with_field_names() -> None:
    kinds = EventKinds({"a": ["x", "y", "x"], "b": ()})
    assert dict(kinds) == {"a": frozenset({"x", "y"}), "b": frozenset()}
    assert list(kinds) == ["a", "b"] and "a" in kinds and "c" not in kinds
    with pytest.raises(TypeError, match="collection of names, not a string"):
        EventKinds({"a": "xy"})
    with pytest.raises(ValueError, match="non-empty string"):
        EventKinds({"": ()})
    with pytest.raises(ValueError, match="at least one event kind"):
        EventKinds({})


def test_the_ledger_imports_nothing_of_the_product() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ledger, ledger.bundle, ledger.batches, ledger.receipts, ledger.store,"
        " ledger.anchors.witness\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'orderhub', 'connectors', 'orchestration', 'ml', 'quality', 'sandbox'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_checkpoint_is_signed_stored_and_verifiable(log: ProvenanceLog, signer: Signer) -> None:
    for i in range(5):
        log.append_event("extraction_batch", {"batch": i})
    signed = log.checkpoint()
    assert (signed.size, signed.root_hash) == (5, log.root())
    opened = open_checkpoint(signed.note, signer.verifier_key(), origin=ORIGIN)
    assert (opened.size, opened.root_hash) == (5, signed.root_hash)
    assert latest_checkpoint(log.conn) == signed

    _, hash_ = log.leaf(3)
    verify_inclusion(hash_, 3, opened.size, log.inclusion_proof(3, opened.size), opened.root_hash)


def test_checkpoints_grow_and_stay_consistent(log: ProvenanceLog, signer: Signer) -> None:
    assert log.latest_checkpoint() is None
    empty = log.checkpoint()
    assert empty.size == 0
    log.append_event("publish", {"n": 1})
    first = log.checkpoint()
    assert log.checkpoint() == first, "same head, same key: the stored checkpoint is reused"
    log.append_events([("publish", {"n": n}) for n in range(2, 12)])
    second = log.checkpoint()
    assert second.size == 11
    proof = log.consistency_proof(first.size, second.size)
    verify_consistency(first.size, second.size, first.root_hash, second.root_hash, proof)
    with log.conn.transaction():
        rows = log.conn.execute("select tree_size from ledger.checkpoints order by id").fetchall()
    assert [r[0] for r in rows] == [0, 1, 11]


def test_checkpoint_never_shrinks(log: ProvenanceLog) -> None:
    log.append_events([("publish", {"n": n}) for n in range(10)])
    big = log.checkpoint()
    # The table itself refuses a smaller checkpoint, whoever writes it.
    with pytest.raises(psycopg.errors.RaiseException, match="smaller than the last one"):  # noqa: SIM117
        with log.conn.transaction():
            log.conn.execute(
                "insert into ledger.checkpoints (tree_size, root_hash, note) values (3, %s, 'x')",
                (big.root_hash,),
            )
    # A log that lost entries (a restored backup, a truncation) is refused a signature.
    with log.conn.transaction():
        log.conn.execute("update ledger.head set tree_size = 4")
    with pytest.raises(CheckpointConflictError, match="refusing to sign a smaller one"):
        log.checkpoint()
    assert latest_checkpoint(log.conn) == big


def test_a_forked_store_is_refused_a_signature(log: ProvenanceLog) -> None:
    log.append_events([("publish", {"n": n}) for n in range(4)])
    log.checkpoint()
    with log.conn.transaction():
        log.conn.execute("alter table ledger.nodes disable trigger nodes_append_only")
        log.conn.execute(
            "update ledger.nodes set hash = %s where level = 2 and idx = 0", (bytes(32),)
        )
        log.conn.execute("alter table ledger.nodes enable trigger nodes_append_only")
    log.append_event("publish", {"n": 4})
    with pytest.raises(CheckpointConflictError, match="refusing to sign a fork"):
        log.checkpoint()


def test_a_caller_connection_is_used_and_left_open(db_url: str, signer: Signer) -> None:
    with psycopg.connect(db_url) as conn:
        log = ProvenanceLog(conn, ORIGIN, signer, kinds=KINDS)
        log.append_event("model_training", {"run": "r1"})
        log.close()
        assert not conn.closed
        assert store.tree_size(conn) == 1


def test_two_logs_checkpoint_the_same_store(db_url: str, signer: Signer) -> None:
    with (
        ProvenanceLog(db_url, ORIGIN, signer, kinds=KINDS) as a,
        ProvenanceLog(db_url, ORIGIN, signer, kinds=KINDS) as b,
    ):
        a.append_event("publish", {"by": "a"})
        b.append_event("publish", {"by": "b"})
        ca, cb = a.checkpoint(), b.checkpoint()
        assert ca == cb and ca.size == 2


def test_checkpoints_taken_during_concurrent_appends_only_grow(db_url: str, signer: Signer) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def write(name: str) -> None:
        try:
            with ProvenanceLog(db_url, ORIGIN, signer, kinds=KINDS) as own:
                for b in range(15):
                    own.append_events([("publish", {"w": name, "b": b, "i": i}) for i in range(5)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def checkpoint() -> None:
        try:
            with ProvenanceLog(db_url, ORIGIN, signer, kinds=KINDS) as own:
                while not done.is_set():
                    own.checkpoint()
                own.checkpoint()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(3)]
    checkpointer = threading.Thread(target=checkpoint)
    checkpointer.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    checkpointer.join(timeout=120)
    assert not errors, errors

    with psycopg.connect(db_url) as conn:
        with conn.transaction():
            rows = conn.execute(
                "select tree_size, root_hash, note from ledger.checkpoints order by id"
            ).fetchall()
        assert len(rows) >= 2
        sizes = [r[0] for r in rows]
        assert sizes == sorted(sizes) and sizes[-1] == 3 * 15 * 5 == store.tree_size(conn)
        for (old, old_root, _), (new, new_root, note) in itertools.pairwise(rows):
            opened = open_checkpoint(note, signer.verifier_key())
            assert (opened.size, opened.root_hash) == (new, bytes(new_root))
            proof = store.consistency_proof(conn, old, new)
            verify_consistency(old, new, bytes(old_root), bytes(new_root), proof)
