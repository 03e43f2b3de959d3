"""The log in PostgreSQL: equal to the in-memory tree, contiguous under concurrent writers."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import reference, store
from ledger.canonical import canonical_json
from ledger.errors import ProofError, StoreError
from ledger.hashing import EMPTY_ROOT, leaf_hash
from ledger.proofs import verify_consistency, verify_inclusion
from ledger.tree import MerkleTree
from orderhub.warehouse import scratch_database


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url) as connection:
        store.ensure_schema(connection)
        yield connection


def events(start: int, count: int, writer: str = "w") -> list[dict[str, Any]]:
    return [{"writer": writer, "n": start + i, "note": "é€😀"} for i in range(count)]


def stored_leaf_hashes(conn: psycopg.Connection[Any]) -> list[bytes]:
    with conn.transaction():
        rows = conn.execute("select idx, leaf_hash from ledger.leaves order by idx").fetchall()
    assert [int(i) for i, _ in rows] == list(range(len(rows))), "leaf indexes are contiguous"
    return [bytes(h) for _, h in rows]


def test_empty_log(conn: psycopg.Connection[Any]) -> None:
    assert store.tree_size(conn) == 0
    assert store.root(conn) == EMPTY_ROOT
    assert store.consistency_proof(conn, 0, 0) == []
    with pytest.raises(StoreError, match="not in the log of size 0"):
        store.inclusion_proof(conn, 0)
    assert store.append(conn, []) == []


def test_roots_and_proofs_equal_the_in_memory_tree(conn: psycopg.Connection[Any]) -> None:
    rng = random.Random(7)
    memory = MerkleTree()
    total = 0
    for batch in [1, 1, 2, 5, 8, 3, 16, 1, 31, 1, 40]:
        indexes = store.append(conn, events(total, batch))
        assert indexes == list(range(total, total + batch))
        for event in events(total, batch):
            memory.append(leaf_hash(canonical_json(event)))
        total += batch
        assert store.tree_size(conn) == total
        assert store.root(conn) == memory.root()
    for size in range(total + 1):
        assert store.root(conn, size) == memory.root(size), f"root at {size}"
    for _ in range(200):
        size = rng.randint(1, total)
        index = rng.randrange(size)
        proof = store.inclusion_proof(conn, index, size)
        assert proof == memory.inclusion_proof(index, size), (index, size)
        verify_inclusion(memory.node(0, index), index, size, proof, memory.root(size))
        old = rng.randint(0, size)
        cproof = store.consistency_proof(conn, old, size)
        assert cproof == memory.consistency_proof(old, size), (old, size)
        verify_consistency(old, size, memory.root(old), memory.root(size), cproof)


def test_every_complete_subtree_is_stored_once(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 37))
    store.append(conn, events(37, 63))
    memory = MerkleTree(stored_leaf_hashes(conn))
    with conn.transaction():
        rows = conn.execute("select level, idx, hash from ledger.nodes").fetchall()
    assert {(lv, i) for lv, i, _ in rows} == {
        (lv, i) for lv in range(1, 7) for i in range(100 >> lv)
    }
    for level, index, value in rows:
        assert bytes(value) == memory.node(level, index)


def test_leaf_round_trip(conn: psycopg.Connection[Any]) -> None:
    event = {"kind": "x", "payload": {"b": 2, "a": [1.5, None, "ü"]}}
    (index,) = store.append(conn, [event])
    got, hash_ = store.leaf(conn, index)
    assert got == event
    assert hash_ == leaf_hash(canonical_json(event))
    with conn.transaction():
        body = conn.execute("select body from ledger.leaves where idx = %s", (index,)).fetchone()
        as_jsonb = conn.execute("select event from ledger.events where idx = %s", (index,))
        assert as_jsonb.fetchone() == (event,)
    assert body is not None and bytes(body[0]) == canonical_json(event)
    with pytest.raises(StoreError, match="entry 5 is not in the log"):
        store.leaf(conn, 5)


def test_sizes_and_indexes_out_of_range(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 4))
    with pytest.raises(StoreError, match="size 5 is not between 0 and the log size 4"):
        store.root(conn, 5)
    with pytest.raises(StoreError, match="entry 4 is not in the log of size 4"):
        store.inclusion_proof(conn, 4)
    with pytest.raises(StoreError, match="old size 3 is not between 0 and the new size 2"):
        store.consistency_proof(conn, 3, 2)


def test_log_tables_are_append_only(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 2))
    for sql in [
        "update ledger.leaves set body = 'x'",
        "delete from ledger.nodes",
        "truncate ledger.leaves",
    ]:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):  # noqa: SIM117
            with conn.transaction():
                conn.execute(sql)
    assert store.tree_size(conn) == 2


def test_tampering_is_detected(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 6))
    root = store.root(conn)
    leaf0 = store.leaf(conn, 0)[1]
    with conn.transaction():
        conn.execute("alter table ledger.leaves disable trigger leaves_append_only")
        conn.execute("update ledger.leaves set body = %s where idx = 2", (b'{"forged":1}',))
        conn.execute("alter table ledger.nodes disable trigger nodes_append_only")
        conn.execute("update ledger.nodes set hash = %s where level = 1 and idx = 2", (bytes(32),))
    with pytest.raises(StoreError, match="entry 2: its stored leaf hash does not match"):
        store.leaf(conn, 2)
    assert store.root(conn) != root
    # A proof served by the tampered store no longer reaches the root seen before.
    with pytest.raises(ProofError, match="leads to root"):
        verify_inclusion(leaf0, 0, 6, store.inclusion_proof(conn, 0), root)
    with conn.transaction():
        conn.execute("alter table ledger.nodes enable trigger nodes_append_only")
        conn.execute("alter table ledger.leaves enable trigger leaves_append_only")


def test_missing_schema_is_named(db_url: str) -> None:
    with psycopg.connect(db_url) as bare, pytest.raises(StoreError, match="ensure_schema"):
        store.tree_size(bare)


def test_ensure_schema_is_idempotent(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 3))
    store.ensure_schema(conn)
    assert store.tree_size(conn) == 3


def test_append_joins_the_callers_transaction(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 3))
    with pytest.raises(RuntimeError), conn.transaction():
        store.append(conn, events(3, 3))
        raise RuntimeError("caller fails after appending")
    assert store.tree_size(conn) == 3
    assert store.append(conn, events(3, 1)) == [3]


def test_concurrent_writers_never_fork(db_url: str, conn: psycopg.Connection[Any]) -> None:
    writers, batches = 4, 25
    seen: dict[str, list[tuple[list[int], int, bytes]]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(name: str) -> None:
        rng = random.Random(name)
        mine: list[tuple[list[int], int, bytes]] = []
        try:
            with psycopg.connect(db_url) as own:
                start.wait()
                for b in range(batches):
                    got = store.append(own, events(b * 100, rng.randint(1, 9), name))
                    size = got[-1] + 1
                    mine.append((got, size, store.root(own, size)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        seen[name] = mine

    threads = [threading.Thread(target=write, args=(f"writer-{i}",)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    hashes = stored_leaf_hashes(conn)
    size = len(hashes)
    assert store.tree_size(conn) == size
    indexes = sorted(i for runs in seen.values() for got, _, _ in runs for i in got)
    assert indexes == list(range(size)), "every index handed out once, none missing"
    for runs in seen.values():
        for got, _, _ in runs:
            assert got == list(range(got[0], got[0] + len(got))), "a batch is contiguous"

    memory = MerkleTree(hashes)
    final = store.root(conn)
    assert final == memory.root()
    for runs in seen.values():
        for _, at, root in runs:
            assert root == memory.root(at), "a root a writer saw is a prefix of the final log"
            verify_consistency(at, size, root, final, store.consistency_proof(conn, at, size))
    with conn.transaction():
        (nodes,) = conn.execute("select count(*) from ledger.nodes").fetchone() or (0,)
    assert nodes == sum(size >> level for level in range(1, size.bit_length()))


def test_batch_entry_is_found_by_batch_id(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 3))
    store.append(
        conn,
        [
            {"kind": "extraction_batch", "payload": {"batch_id": "b-1", "merkle_root": "00"}},
            {"kind": "validation", "payload": {"batch_id": "b-2"}},
            {"kind": "extraction_batch", "payload": {"batch_id": "b-2"}},
        ],
    )
    assert store.batch_entry(conn, "b-1") == 3
    assert store.batch_entry(conn, "b-2") == 5, "only extraction_batch entries count"
    assert store.batch_entry(conn, "b-3") is None
    with conn.transaction():
        plan = conn.execute(
            "explain select min(idx) from ledger.leaves"
            ' where substring(body from 1 for 27) = \'{"kind":"extraction_batch",\'::bytea'
            " and ledger.entry(body) #>> '{payload,batch_id}' = 'b-1'"
        ).fetchall()
    assert "leaves_extraction_batch" in " ".join(r[0] for r in plan)


def test_scan_leaves_reads_every_entry_in_order(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 25))
    rows = list(store.scan_leaves(conn, chunk=7))
    assert [i for i, _, _ in rows] == list(range(25))
    assert all(leaf_hash(body) == h for _, h, body in rows)
    assert [i for i, _, _ in store.scan_leaves(conn, 10, chunk=4)] == list(range(10))


def test_an_old_schema_is_upgraded_in_place(conn: psycopg.Connection[Any]) -> None:
    store.append(conn, events(0, 3))
    with conn.transaction():
        conn.execute("drop table ledger.anchor_receipts")
        conn.execute("comment on schema ledger is 'orderhub provenance ledger, schema 1'")
        conn.execute("drop index ledger.leaves_extraction_batch")
    store.ensure_schema(conn)
    assert store.tree_size(conn) == 3
    with conn.transaction():
        assert conn.execute("select count(*) from ledger.anchor_receipts").fetchone() == (0,)
    store.append(conn, [{"kind": "extraction_batch", "payload": {"batch_id": "b-9"}}])
    assert store.batch_entry(conn, "b-9") == 3


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.integers(1, 40), min_size=1, max_size=6), data=st.data())
def test_store_matches_the_reference_on_random_logs(
    pg_server: str, batches: list[int], data: st.DataObject
) -> None:
    with scratch_database(pg_server, prefix="prop") as url, psycopg.connect(url) as own:
        store.ensure_schema(own)
        bodies: list[dict[str, Any]] = []
        for n in batches:
            chunk = events(len(bodies), n)
            store.append(own, chunk)
            bodies.extend(chunk)
        hashes = [leaf_hash(canonical_json(b)) for b in bodies]
        size = data.draw(st.integers(1, len(hashes)), label="size")
        index = data.draw(st.integers(0, size - 1), label="index")
        old = data.draw(st.integers(0, size), label="old size")
        assert store.root(own, size) == reference.root(hashes[:size])
        assert store.inclusion_proof(own, index, size) == reference.inclusion_proof(
            index, hashes[:size]
        )
        assert store.consistency_proof(own, old, size) == reference.consistency_proof(
            old, hashes[:size]
        )
