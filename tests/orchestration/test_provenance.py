"""Provenance events against a real PostgreSQL: batch roots, dbt builds, crosswalk, revision.

Batches are loaded the way a sync loads them (:class:`connectors.loader.StreamLoader`
fed with Airbyte messages), and the ``extraction_batch`` event is made from what the loader
returns; every expected root is recomputed here from the records themselves with the RFC's
own definition (:mod:`ledger.reference`), so nothing the code under test computes is reused
as the expectation.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import rfc8785

from connectors.catalog import SYSTEMS
from connectors.loader import Batch, BatchResult, StreamLoader, ensure_schema, load_messages
from ledger import reference
from ledger.batches import BatchTree, leaf_order, load_tree
from ledger.bundle.values import iso_utc
from ledger.hashing import EMPTY_ROOT, leaf_hash
from orchestration import provenance
from orchestration.provenance import (
    code_revision,
    crosswalk_version,
    dbt_build_event,
    extraction_event,
)
from orderhub.audit.queries import batch_hashes
from orderhub.provenance import PROVENANCE_KINDS

SYSTEM, STREAM = "crm", "fulfillment_orders"


def fulfillment_order(key: str, status: str = "Fulfilled", day: int = 1) -> dict[str, Any]:
    return {
        "Id": key,
        "Status": status,
        "OrderId": f"801{key}",
        "SystemModstamp": f"2026-03-{day:02d}T10:00:00.000+0000",
    }


def load(db_url: str, records: list[dict[str, Any]], batch_id: str) -> BatchResult:
    """Load ``records`` as one batch of the CRM stream, committed by one STATE."""
    connector = SYSTEMS[SYSTEM]
    batch = Batch(batch_id, SYSTEM, STREAM, datetime.now(UTC), "2026-01-01T00:00:00Z")
    loader = StreamLoader(db_url, connector, connector.stream(STREAM), batch)
    messages: list[dict[str, Any]] = [
        {"type": "RECORD", "record": {"stream": STREAM, "data": dict(r), "emitted_at": 1}}
        for r in records
    ]
    messages.append(
        {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": STREAM},
                    "stream_state": {"SystemModstamp": "2026-03-31T00:00:00.000+0000"},
                },
                "sourceStats": {"recordCount": float(len(records))},
            },
        }
    )
    try:
        loader.open_batch()
        started = time.monotonic()
        load_messages(SYSTEM, messages, {STREAM: loader})
        return loader.succeed(started, time.monotonic())
    finally:
        loader.close()


def expected_root(records: list[dict[str, Any]]) -> str:
    """RFC 9162 root over the records' content hashes, in (record_key, content_hash) byte order."""
    keyed = sorted(
        (str(r["Id"]).encode(), hashlib.sha256(rfc8785.dumps(r)).hexdigest()) for r in records
    )
    return reference.root([leaf_hash(bytes.fromhex(h)) for _, h in keyed]).hex()


def stored_root(db_url: str, batch_id: str) -> str | None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "select merkle_root from orderhub_meta.extraction_batches where batch_id = %s",
            (batch_id,),
        ).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def raw_db(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        ensure_schema(conn)
    return db_url


# Keys whose text order differs from their numeric order ("10" < "9") and from a
# linguistic collation's ("A_1" < "a1" < "B2" in bytes), plus one record key with two
# versions in the batch (ordered by content hash).
RECORDS = [
    fulfillment_order("9"),
    fulfillment_order("10"),
    fulfillment_order("a1"),
    fulfillment_order("A_1"),
    fulfillment_order("B2"),
    fulfillment_order("0Fx"),
    fulfillment_order("0Fx", status="Cancelled", day=2),
]


def test_extraction_event_root_is_rfc9162_over_the_batch_records(raw_db: str) -> None:
    batch = load(raw_db, RECORDS, "crm-b1")
    event = extraction_event(batch)

    assert set(event) == PROVENANCE_KINDS["extraction_batch"]
    assert event["merkle_root"] == expected_root(RECORDS)
    assert stored_root(raw_db, "crm-b1") == event["merkle_root"]
    with psycopg.connect(raw_db) as conn:
        tree = load_tree(conn, "crm-b1")
    assert tree is not None and tree.root().hex() == event["merkle_root"]
    assert event["records_stored"] == len(RECORDS) == event["records_read"]
    assert {k: event[k] for k in ("system", "stream", "batch_id")} == {
        "system": SYSTEM,
        "stream": STREAM,
        "batch_id": "crm-b1",
    }
    assert event["cursor_from"] == "2026-01-01T00:00:00Z"
    assert event["cursor_to"] == "2026-03-31T00:00:00.000+0000"
    assert event["leaf"] == "sha256(0x00 || content_hash) ordered by (record_key, content_hash)"
    # when the batch ran: the time stamped on every record it stored, as a bundle reads it
    with psycopg.connect(raw_db) as conn:
        stamped = conn.execute(
            "select distinct extracted_at from raw_crm.fulfillment_orders where batch_id = %s",
            ("crm-b1",),
        ).fetchall()
    assert [iso_utc(t) for (t,) in stamped] == [event["extracted_at"]]


def test_a_single_record_batch_root_is_its_leaf_hash(raw_db: str) -> None:
    record = fulfillment_order("0Fy")
    event = extraction_event(load(raw_db, [record], "crm-one"))
    digest = hashlib.sha256(rfc8785.dumps(record)).digest()
    assert event["merkle_root"] == hashlib.sha256(b"\x00" + digest).hexdigest()


def test_a_batch_covers_only_the_records_it_stored(raw_db: str) -> None:
    first = extraction_event(load(raw_db, RECORDS[:3], "crm-b1"))
    # the second sync sees two known versions again (inclusive cursor) and one new
    again = [RECORDS[1], RECORDS[2], fulfillment_order("a1", status="Cancelled", day=3)]
    second_batch = load(raw_db, again, "crm-b2")
    second = extraction_event(second_batch)

    assert (second_batch.records_read, second_batch.records_new) == (3, 1)
    assert second["records_stored"] == 1
    assert second["merkle_root"] == expected_root(again[2:])
    assert first["merkle_root"] == expected_root(RECORDS[:3])
    assert stored_root(raw_db, "crm-b1") == first["merkle_root"]
    assert stored_root(raw_db, "crm-b2") == second["merkle_root"]


def test_a_batch_that_stored_nothing_has_the_empty_root(raw_db: str) -> None:
    event = extraction_event(load(raw_db, [], "crm-empty"))
    assert event["records_stored"] == 0
    assert event["merkle_root"] == EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()
    assert stored_root(raw_db, "crm-empty") == EMPTY_ROOT.hex()


def test_a_changed_record_changes_the_root(raw_db: str) -> None:
    batch = load(raw_db, RECORDS, "crm-b1")
    logged = extraction_event(batch)["merkle_root"]

    changed = [*RECORDS]
    changed[3] = {**RECORDS[3], "Status": "Cancelled"}
    with psycopg.connect(raw_db) as conn:  # a record altered after extraction
        conn.execute(
            "update raw_crm.fulfillment_orders set data = %s::jsonb, content_hash = %s"
            " where record_key = 'A_1'",
            (
                rfc8785.dumps(changed[3]).decode(),
                hashlib.sha256(rfc8785.dumps(changed[3])).hexdigest(),
            ),
        )
    with psycopg.connect(raw_db) as conn:  # what the audit recomputes from the rows
        recomputed = BatchTree(batch_hashes(conn, f"raw_{SYSTEM}", STREAM, "crm-b1")).root().hex()

    assert recomputed != logged
    assert recomputed == expected_root(changed)
    assert extraction_event(batch)["merkle_root"] == logged, "the event is what was stored"


def test_leaf_order_is_byte_order_of_the_keys(raw_db: str) -> None:
    records = [*RECORDS, fulfillment_order("Ä2"), fulfillment_order("Z")]
    load(raw_db, records, "crm-b1")
    with psycopg.connect(raw_db) as conn:
        hashes = batch_hashes(conn, f"raw_{SYSTEM}", STREAM, "crm-b1")
    wanted = sorted(
        (str(r["Id"]).encode(), hashlib.sha256(rfc8785.dumps(r)).digest()) for r in records
    )
    assert hashes == [h for _, h in wanted]
    # the SQL form and the ledger's rule are one order
    digests = [(str(r["Id"]), hashlib.sha256(rfc8785.dumps(r)).digest()) for r in records]
    assert leaf_order(digests) == hashes


# -- dbt builds ---------------------------------------------------------------------------


def manifest() -> dict[str, Any]:
    """The parts of a dbt ``manifest.json`` the event reads (shape of dbt 1.11)."""

    def node(unique_id: str, checksum: str | None) -> dict[str, Any]:
        resource_type = unique_id.split(".", 1)[0]
        body: dict[str, Any] = {"unique_id": unique_id, "resource_type": resource_type}
        if checksum is not None:
            body["checksum"] = {"name": "sha256", "checksum": checksum}
        return body

    return {
        "metadata": {"dbt_version": "1.11.2", "invocation_id": "parse-invocation"},
        "nodes": {
            "model.orderhub.stg_erp__sales_orders": node(
                "model.orderhub.stg_erp__sales_orders", "aa" * 32
            ),
            "model.orderhub.fct_order_status_events": node(
                "model.orderhub.fct_order_status_events", "bb" * 32
            ),
            "seed.orderhub.status_crosswalk": node("seed.orderhub.status_crosswalk", "cc" * 32),
            "test.orderhub.unique_fct_order_status_events_event_id.1a2b": node(
                "test.orderhub.unique_fct_order_status_events_event_id.1a2b", None
            ),
            "model.orderhub.not_run": node("model.orderhub.not_run", "dd" * 32),
        },
        "sources": {
            "source.orderhub.erp.sales_orders": {"unique_id": "source.orderhub.erp.sales_orders"}
        },
    }


def run_results() -> dict[str, Any]:
    """The parts of a dbt ``run_results.json`` the event reads, in dbt's (run) order."""

    def result(unique_id: str, status: str) -> dict[str, Any]:
        return {"unique_id": unique_id, "status": status, "execution_time": 0.1, "failures": None}

    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.11.2",
            "invocation_id": "0b1c2d3e-0000-4000-8000-000000000001",
        },
        "results": [
            result("seed.orderhub.status_crosswalk", "success"),
            result("model.orderhub.stg_erp__sales_orders", "success"),
            result("model.orderhub.fct_order_status_events", "error"),
            result("test.orderhub.unique_fct_order_status_events_event_id.1a2b", "skipped"),
            result("source.orderhub.erp.sales_orders", "pass"),
        ],
        "elapsed_time": 1.5,
    }


def test_dbt_build_event_names_what_ran_and_its_checksums() -> None:
    derived = {
        "crosswalk_version": "ee" * 32,
        "crosswalk_rows": 95,
        "derivation_spec": "dd" * 32,
        "claims_root": "cc" * 32,
        "claims_size": 9,
        "something else": "left out",
    }
    event = dbt_build_event(manifest(), run_results(), derived)
    assert set(event) == PROVENANCE_KINDS["dbt_build"]

    assert event["invocation_id"] == "0b1c2d3e-0000-4000-8000-000000000001"
    assert event["dbt_version"] == "1.11.2"
    assert event["statuses"] == {
        "model.orderhub.fct_order_status_events": "error",
        "model.orderhub.stg_erp__sales_orders": "success",
        "seed.orderhub.status_crosswalk": "success",
        "source.orderhub.erp.sales_orders": "pass",
        "test.orderhub.unique_fct_order_status_events_event_id.1a2b": "skipped",
    }
    assert list(event["statuses"]) == sorted(event["statuses"])
    # only nodes that ran and carry a checksum; never one that did not run
    assert event["checksums"] == {
        "model.orderhub.fct_order_status_events": "bb" * 32,
        "model.orderhub.stg_erp__sales_orders": "aa" * 32,
        "seed.orderhub.status_crosswalk": "cc" * 32,
    }
    assert event["crosswalk_version"] == "ee" * 32
    assert (event["crosswalk_rows"], event["claims_size"]) == (95, 9)
    assert (event["derivation_spec"], event["claims_root"]) == ("dd" * 32, "cc" * 32)
    assert "something else" not in event
    assert event["code_revision"] == code_revision()


def test_dbt_build_event_of_an_invocation_that_ran_nothing() -> None:
    event = dbt_build_event({}, {}, None)
    assert event["statuses"] == {} and event["checksums"] == {}
    assert event["invocation_id"] is None and event["dbt_version"] is None
    assert event["crosswalk_version"] is None and event["claims_root"] is None


def test_dbt_build_event_is_deterministic() -> None:
    results = run_results()
    reordered = {**results, "results": list(reversed(results["results"]))}
    derived = {"crosswalk_version": "v"}
    assert dbt_build_event(manifest(), results, derived) == dbt_build_event(
        manifest(), reordered, derived
    )


# -- crosswalk version and code revision ---------------------------------------------------


def test_crosswalk_version_before_the_first_build_is_none(db_url: str) -> None:
    assert crosswalk_version(db_url) is None


def test_crosswalk_version_is_the_one_the_events_were_mapped_with(db_url: str) -> None:
    version = hashlib.sha256(b"erp,OverallSDProcessStatus,A,placed").hexdigest()
    with psycopg.connect(db_url) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.fct_order_status_events (event_id text, crosswalk_version text)"
        )
        conn.commit()
        assert crosswalk_version(db_url) is None  # built, but no event yet
        conn.execute(
            "insert into marts.fct_order_status_events values ('e1', %s), ('e2', %s)",
            (version, version),
        )
    assert crosswalk_version(db_url) == version


def test_code_revision_is_the_checked_out_commit() -> None:
    revision = code_revision()
    try:
        head = subprocess.run(
            ["git", "-C", str(provenance.PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        assert revision == "unknown"
        return
    assert re.fullmatch(r"[0-9a-f]{40}", revision)
    assert revision == head


def test_code_revision_outside_a_repository_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provenance, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert code_revision.__wrapped__() == "unknown"
