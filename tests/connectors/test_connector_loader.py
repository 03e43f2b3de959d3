"""The loader against a real PostgreSQL, fed with Airbyte messages directly (no connector)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from connector_stubs import batches, stored_state

from connectors.catalog import SYSTEMS
from connectors.errors import ConnectorError
from connectors.loader import (
    APPLICATION_NAME,
    Batch,
    BatchResult,
    StreamLoader,
    ensure_schema,
    load_messages,
)
from ledger import reference
from ledger.batches import load_tree
from ledger.canonical import canonical_hash
from ledger.hashing import leaf_hash
from orchestration.provenance import extraction_event

STREAM = "pickings"


def record(i: int, **extra: Any) -> dict[str, Any]:
    data = {"id": i, "write_date": f"2026-10-0{i}T00:00:00Z", "state": "done", **extra}
    return {"type": "RECORD", "record": {"stream": STREAM, "data": data, "emitted_at": 1}}


def state(cursor: str, count: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": {"write_date": cursor}},
    }
    if count is not None:
        message["sourceStats"] = {"recordCount": float(count)}
    return {"type": "STATE", "state": message}


def trace_error(text: str) -> dict[str, Any]:
    return {"type": "TRACE", "trace": {"type": "ERROR", "error": {"message": text}}}


@pytest.fixture
def schema_db(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        ensure_schema(conn)
    return db_url


def run(db_url: str, messages: list[dict[str, Any]], batch_id: str = "b1") -> StreamLoader:
    connector = SYSTEMS["wms"]
    batch = Batch(batch_id, "wms", STREAM, datetime.now(UTC), "2020-01-01T00:00:00Z")
    loader = StreamLoader(db_url, connector, connector.stream(STREAM), batch)
    loader.open_batch()
    try:
        load_messages("wms", iter(messages), {STREAM: loader})
    except ConnectorError:
        loader.fail()
        raise
    finally:
        loader.close()
    return loader


def succeed(db_url: str, messages: list[dict[str, Any]], batch_id: str) -> BatchResult:
    """Load ``messages`` as one batch that succeeds; what the batch did."""
    connector = SYSTEMS["wms"]
    batch = Batch(batch_id, "wms", STREAM, datetime.now(UTC), "2020-01-01T00:00:00Z")
    loader = StreamLoader(db_url, connector, connector.stream(STREAM), batch)
    try:
        loader.open_batch()
        load_messages("wms", iter(messages), {STREAM: loader})
        return loader.succeed(time.monotonic(), time.monotonic())
    finally:
        loader.close()


def root_of_raw_rows(db_url: str, batch_id: str) -> tuple[str, int]:
    """The RFC 9162 root over the batch's raw rows, ordered bytewise by (key, hash) here."""
    with psycopg.connect(db_url) as conn:
        stored = conn.execute(
            "select record_key, content_hash from raw_wms.pickings where batch_id = %s",
            (batch_id,),
        ).fetchall()
    ordered = sorted((key.encode(), bytes.fromhex(digest)) for key, digest in stored)
    return reference.root([leaf_hash(digest) for _, digest in ordered]).hex(), len(stored)


def rows(db_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "select record_key, content_hash, data, cursor_value, batch_id from raw_wms.pickings"
            " order by record_key, cursor_value"
        ).fetchall()


def test_ensure_schema_is_idempotent_and_follows_the_contract(schema_db: str) -> None:
    with psycopg.connect(schema_db) as conn:
        ensure_schema(conn)
        columns = conn.execute(
            "select table_schema || '.' || table_name, column_name from information_schema.columns"
            " where table_schema like 'raw\\_%' or table_schema = 'orderhub_meta'"
            " order by 1, ordinal_position"
        ).fetchall()
    by_table: dict[str, list[str]] = {}
    for table, column in columns:
        by_table.setdefault(table, []).append(column)
    raw = ["record_key", "content_hash", "data", "cursor_value", "batch_id", "extracted_at"]
    for connector in SYSTEMS.values():
        for name in connector.stream_names:
            assert by_table[connector.raw_table(name)] == raw
    assert by_table["orderhub_meta.connector_state"] == ["system", "stream", "state", "updated_at"]
    assert by_table["orderhub_meta.extraction_batches"] == [
        "batch_id", "system", "stream", "started_at", "finished_at", "records_read",
        "records_new", "cursor_from", "cursor_to", "merkle_root", "status",
        "records_quarantined", "closed_xid",
    ]  # fmt: skip
    assert by_table["orderhub_meta.quarantine"] == [
        "batch_id", "system", "stream", "record_key", "content_hash", "cursor_value", "reason",
        "payload", "quarantined_at",
    ]  # fmt: skip


def test_rows_commit_with_state(schema_db: str) -> None:
    loader = run(
        schema_db, [record(1), record(2, date_done=False), state("2026-10-02T00:00:00Z", 2)]
    )
    assert (loader.records_read, loader.records_new, loader.checkpoints) == (2, 2, 1)
    stored = rows(schema_db)
    assert [r[0] for r in stored] == ["1", "2"]
    assert stored[1][2] == record(2, date_done=False)["record"]["data"]
    assert stored[1][1] == canonical_hash(stored[1][2])
    assert {r[3] for r in stored} == {"2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"}
    assert stored_state(schema_db, "wms") == {STREAM: {"write_date": "2026-10-02T00:00:00Z"}}


def test_a_version_is_stored_once_and_a_new_version_kept(schema_db: str) -> None:
    run(schema_db, [record(1), record(1), record(2), state("2026-10-02T00:00:00Z")], "b1")
    loader = run(
        schema_db, [record(2), record(2, state="cancel"), state("2026-10-02T00:00:00Z")], "b2"
    )
    assert (loader.records_read, loader.records_new) == (2, 1)
    stored = rows(schema_db)
    assert sorted((r[0], r[2]["state"], r[4]) for r in stored) == [
        ("1", "done", "b1"),
        ("2", "cancel", "b2"),
        ("2", "done", "b1"),
    ]


def test_a_batch_stores_the_tree_of_the_rows_it_stored(schema_db: str) -> None:
    messages = [record(i) for i in (3, 7, 2, 1)]
    result = succeed(schema_db, [*messages, state("2026-10-09T00:00:00Z", 4)], "b1")

    root, size = root_of_raw_rows(schema_db, "b1")
    assert (result.merkle_root, result.records_stored) == (root, size) == (root, 4)
    with psycopg.connect(schema_db) as conn:
        tree = load_tree(conn, "b1")
        (merkle,) = conn.execute(
            "select merkle_root from orderhub_meta.extraction_batches where batch_id = 'b1'"
        ).fetchone() or (None,)
    assert tree is not None and (tree.root().hex(), tree.size) == (root, 4)
    assert merkle == root
    event = extraction_event(result)
    assert (event["merkle_root"], event["records_stored"]) == (root, 4)
    # every stored row proves its way up to that root from the stored levels
    for message in messages:
        assert tree.prove(bytes.fromhex(canonical_hash(message["record"]["data"]))).size == 4


def test_a_batch_with_duplicates_across_pages_has_each_row_once_in_its_tree(
    schema_db: str,
) -> None:
    old = succeed(schema_db, [record(1), state("2026-10-01T00:00:00Z", 1)], "b0")
    pages = [
        record(1),  # stored by the earlier batch: not a leaf of this one
        record(2),
        record(3),
        state("2026-10-03T00:00:00Z", 3),
        record(3),  # the next page repeats the last record of the previous one
        record(2),
        record(4),
        record(4),  # and a duplicate within one page
        state("2026-10-04T00:00:00Z", 4),
    ]
    result = succeed(schema_db, pages, "b1")

    assert (result.records_read, result.records_new, result.records_stored) == (7, 3, 3)
    root, size = root_of_raw_rows(schema_db, "b1")
    assert (result.merkle_root, size) == (root, 3)
    with psycopg.connect(schema_db) as conn:
        tree = load_tree(conn, "b1")
    assert tree is not None and (tree.size, tree.root().hex()) == (3, root)
    assert old.records_stored == 1 and old.merkle_root == root_of_raw_rows(schema_db, "b0")[0]


def test_trace_error_rolls_back_the_open_checkpoint(schema_db: str) -> None:
    messages = [
        record(1),
        state("2026-10-01T00:00:00Z", 1),
        record(2),
        record(3),
        trace_error("WMS answered HTTP 401 Unauthorized: invalid token"),
        state("2026-10-03T00:00:00Z", 2),
    ]
    with pytest.raises(ConnectorError, match=r"wms\b.*401 Unauthorized: invalid token"):
        run(schema_db, messages)
    assert [r[0] for r in rows(schema_db)] == ["1"]
    assert stored_state(schema_db, "wms") == {STREAM: {"write_date": "2026-10-01T00:00:00Z"}}
    status, read, new, _, cursor_to, merkle = batches(schema_db, "wms")[0]
    assert (status, read, new, cursor_to, merkle) == ("failed", 1, 1, "2026-10-01T00:00:00Z", None)


def test_records_without_a_following_state_fail(schema_db: str) -> None:
    with pytest.raises(ConnectorError, match="without a STATE covering 1 records"):
        run(schema_db, [record(1), state("2026-10-01T00:00:00Z"), record(2)])
    assert [r[0] for r in rows(schema_db)] == ["1"]


def test_no_state_at_all_fails(schema_db: str) -> None:
    with pytest.raises(ConnectorError, match="without a STATE"):
        run(schema_db, [])
    assert batches(schema_db, "wms")[0][0] == "failed"


def test_lost_records_are_detected_from_the_state_count(schema_db: str) -> None:
    with pytest.raises(ConnectorError, match="STATE says 3 records"):
        run(schema_db, [record(1), record(2), state("2026-10-02T00:00:00Z", 3)])
    assert rows(schema_db) == []
    assert stored_state(schema_db, "wms") == {}


def test_many_rows_are_staged_in_chunks(schema_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.loader.FLUSH_ROWS", 7)

    def messages() -> Iterator[dict[str, Any]]:
        for i in range(1, 51):
            yield {
                "type": "RECORD",
                "record": {
                    "stream": STREAM,
                    "data": {"id": i, "write_date": "2026-10-01T00:00:00Z"},
                    "emitted_at": 1,
                },
            }
        yield state("2026-10-01T00:00:00Z", 50)

    loader = run(schema_db, list(messages()))
    assert loader.records_new == 50
    assert len(rows(schema_db)) == 50


def quarantine(db_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "select batch_id, system, stream, record_key, content_hash, cursor_value, reason,"
            " payload from orderhub_meta.quarantine order by record_key"
        ).fetchall()


def test_records_that_do_not_fit_the_schema_are_quarantined_with_state(schema_db: str) -> None:
    renamed = {"id": 3, "written": "2026-10-03T00:00:00Z", "state": "done"}
    wrong = record(4, location_id={"id": 8})["record"]["data"]
    castable = record(5, id="5", move_ids=[{"quantity": "2"}], new_field=[1])["record"]["data"]
    messages = [
        record(1),
        {"type": "RECORD", "record": {"stream": STREAM, "data": renamed, "emitted_at": 1}},
        {"type": "RECORD", "record": {"stream": STREAM, "data": wrong, "emitted_at": 1}},
        {"type": "RECORD", "record": {"stream": STREAM, "data": castable, "emitted_at": 1}},
        state("2026-10-05T00:00:00Z", 4),
    ]
    loader = run(schema_db, messages)
    assert (loader.records_read, loader.records_new, loader.records_quarantined) == (4, 2, 2)
    assert [r[0] for r in rows(schema_db)] == ["1", "5"]
    held = quarantine(schema_db)
    assert [(r[0], r[1], r[2], r[3]) for r in held] == [
        ("b1", "wms", STREAM, "3"),
        ("b1", "wms", STREAM, "4"),
    ]
    assert held[0][6] == "missing required field 'write_date'"
    assert held[0][7] == renamed and held[0][4] == canonical_hash(renamed)
    assert "field 'location_id' is dict" in held[1][6] and "cannot be cast to array" in held[1][6]
    assert held[1][5] == "2026-10-04T00:00:00Z"
    with psycopg.connect(schema_db) as conn:
        counted = conn.execute(
            "select records_quarantined from orderhub_meta.extraction_batches"
        ).fetchone()
    assert counted == (2,)


def test_quarantined_records_roll_back_with_their_checkpoint(schema_db: str) -> None:
    bad = {"id": 9, "state": "done"}
    messages = [
        {"type": "RECORD", "record": {"stream": STREAM, "data": bad, "emitted_at": 1}},
        trace_error("WMS answered a transient server error (HTTP 408/5xx)"),
    ]
    with pytest.raises(ConnectorError):
        run(schema_db, messages)
    assert quarantine(schema_db) == []
    assert batches(schema_db, "wms")[0][0] == "failed"


def test_a_lost_warehouse_session_fails_the_batch_on_a_new_one(schema_db: str) -> None:
    connector = SYSTEMS["wms"]
    batch = Batch("b-lost", "wms", STREAM, datetime.now(UTC), None)
    loader = StreamLoader(schema_db, connector, connector.stream(STREAM), batch)
    loader.open_batch()
    loader.add(record(1)["record"]["data"])
    with psycopg.connect(schema_db, autocommit=True) as admin:
        (killed,) = admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s",
            (f"{APPLICATION_NAME}wms.{STREAM}",),
        ).fetchone()
    assert killed
    with pytest.raises(psycopg.OperationalError):
        loader.commit({"write_date": "2026-10-01T00:00:00Z"}, 1)
    loader.fail()
    loader.close()
    assert rows(schema_db) == [] and stored_state(schema_db, "wms") == {}
    assert batches(schema_db, "wms")[0][0] == "failed"
