"""A build's validation of the events mart reads the rows written since the suite last
passed there, every row of the records those rows belong to for the uniqueness
expectations, and the whole table for the table-wide ones; a failed validation keeps its
mark (against a real PostgreSQL table, with Great Expectations)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg

from quality.new_rows import mark_of, validate_built
from quality.runner import ValidationOutcome, validate
from quality.suites import CANONICAL_EVENTS

SCHEMA = "marts_blue"
FIRST = datetime(2026, 10, 1, tzinfo=UTC)
LATER = FIRST + timedelta(hours=1)


def _events(db_url: str, rows: list[tuple]) -> None:
    """Events (id, order, system, status, record, crosswalk version, stamp) of field
    ``status`` at one time; the table is made on the first call."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            f"create schema if not exists {SCHEMA};"
            f"create table if not exists {SCHEMA}.fct_order_status_events(event_id text,"
            " order_id text, source_system text, canonical_status text,"
            " event_time timestamptz, lifecycle_rank int, crosswalk_version text,"
            " source_record_key text, source_field text, source_code text,"
            " built_at timestamptz)"
        )
        conn.cursor().executemany(
            f"insert into {SCHEMA}.fct_order_status_events values"
            " (%s, %s, %s, %s, '2026-09-30Z', 10, %s, %s, 'status', %s, %s)",
            [(e, o, sys, st, cw, rec, st, at) for e, o, sys, st, rec, cw, at in rows],
        )


def _failed(outcome: ValidationOutcome) -> set[tuple[str, str | None]]:
    return {(f.type, f.column) for f in outcome.failures}


def _first_build(db_url: str) -> None:
    _events(
        db_url,
        [
            ("e1", "1000001", "erp", "placed", "SO-1", "v1", FIRST),
            ("e2", "1000002", "erp", "placed", "SO-2", "v1", FIRST),
        ],
    )
    outcome = validate_built(db_url, CANONICAL_EVENTS, SCHEMA)
    assert outcome.success and outcome.rows_since is None, outcome.summary()


def test_the_first_validation_reads_every_row_and_marks_the_latest_stamp(db_url: str) -> None:
    _first_build(db_url)
    with psycopg.connect(db_url) as conn:
        assert mark_of(conn, SCHEMA, CANONICAL_EVENTS) == FIRST
        # another suite version has no mark: it reads every row
        other = replace(CANONICAL_EVENTS, expectations=CANONICAL_EVENTS.expectations[1:])
        assert mark_of(conn, SCHEMA, other) is None


def test_a_later_validation_reads_the_new_rows_only(db_url: str) -> None:
    _first_build(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:  # an old row spoiled by hand
        conn.execute(f"update {SCHEMA}.fct_order_status_events set order_id = null")
    _events(db_url, [("e3", "1000003", "tms", "delivered", "TR-3", "v1", LATER)])
    outcome = validate_built(db_url, CANONICAL_EVENTS, SCHEMA)
    assert outcome.success and outcome.rows_since == FIRST, outcome.summary()
    assert f"(rows written after {FIRST})" in outcome.summary()
    # every row is read when asked without a mark
    assert ("ExpectColumnValuesToNotBeNull", "order_id") in _failed(
        validate(db_url, CANONICAL_EVENTS, SCHEMA)
    )


def test_a_new_row_repeating_an_older_one_of_its_record_fails_until_it_is_gone(
    db_url: str,
) -> None:
    _first_build(db_url)
    # SO-1's event again under another id, written by a later build: the older row is
    # before the mark, the record's rows are read whole
    _events(db_url, [("e1-again", "1000001", "erp", "placed", "SO-1", "v1", LATER)])
    outcome = validate_built(db_url, CANONICAL_EVENTS, SCHEMA)
    assert ("ExpectCompoundColumnsToBeUnique", None) in _failed(outcome), outcome.summary()
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert mark_of(conn, SCHEMA, CANONICAL_EVENTS) == FIRST  # kept: read again
        assert not validate_built(db_url, CANONICAL_EVENTS, SCHEMA).success
        conn.execute(f"delete from {SCHEMA}.fct_order_status_events where event_id = 'e1-again'")
        assert validate_built(db_url, CANONICAL_EVENTS, SCHEMA).success
        assert mark_of(conn, SCHEMA, CANONICAL_EVENTS) == FIRST


def test_a_new_row_with_an_older_rows_event_id_fails_whatever_its_record(db_url: str) -> None:
    _first_build(db_url)
    _events(db_url, [("e1", "1000009", "tms", "delivered", "TR-9", "v1", LATER)])
    outcome = validate_built(db_url, CANONICAL_EVENTS, SCHEMA)
    assert _failed(outcome) == {("ExpectColumnValuesToBeUnique", "event_id")}, outcome.summary()


def test_a_row_without_a_stamp_is_read(db_url: str) -> None:
    _first_build(db_url)
    _events(db_url, [("e6", "1000006", "erp", "teleported", "SO-6", "v1", None)])
    outcome = validate_built(db_url, CANONICAL_EVENTS, SCHEMA)
    assert _failed(outcome) == {("ExpectColumnValuesToBeInSet", "canonical_status")}


def test_new_bad_rows_fail_naming_the_column(db_url: str) -> None:
    _first_build(db_url)
    _events(db_url, [("e4", None, "sap", "teleported", "X-4", "v1", LATER)])
    failed = _failed(validate_built(db_url, CANONICAL_EVENTS, SCHEMA))
    assert {
        ("ExpectColumnValuesToNotBeNull", "order_id"),
        ("ExpectColumnValuesToBeInSet", "source_system"),
        ("ExpectColumnValuesToBeInSet", "canonical_status"),
    } <= failed


def test_a_table_wide_expectation_reads_the_old_rows_too(db_url: str) -> None:
    _first_build(db_url)
    # a second crosswalk version beside the old rows' (one build maps with one version)
    _events(db_url, [("e5", "1000005", "erp", "placed", "SO-5", "v2", LATER)])
    outcome = validate_built(db_url, CANONICAL_EVENTS, SCHEMA)
    assert _failed(outcome) == {("ExpectColumnUniqueValueCountToBeBetween", "crosswalk_version")}, (
        outcome.summary()
    )
