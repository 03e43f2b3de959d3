"""Great Expectations suites against a real PostgreSQL table."""

from __future__ import annotations

import psycopg

from quality.runner import validate
from quality.suites import CANONICAL_EVENTS, CURRENT_STATUS, ORDER_EXCEPTIONS


def _make_events(db_url: str, rows: list[tuple]) -> None:
    """The events ``rows``; each is sent as record ``rec-<event_id>``'s field ``status``
    (what an event id is derived from), unless the row names its record key eighth."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "create schema if not exists marts;"
            "create table marts.fct_order_status_events(event_id text, order_id text,"
            " source_system text, canonical_status text, event_time timestamptz,"
            " lifecycle_rank int, crosswalk_version text, source_record_key text,"
            " source_field text, source_code text)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts.fct_order_status_events values"
                " (%s,%s,%s,%s,%s,%s,%s,%s,'status',%s)",
                [(*row[:7], row[7] if len(row) > 7 else f"rec-{row[0]}", row[3]) for row in rows],
            )


def test_valid_events_pass(db_url: str) -> None:
    _make_events(
        db_url,
        [
            ("e1", "1000001", "erp", "placed", "2026-10-01T00:00:00Z", 10, "v1"),
            ("e2", "1000001", "tms", "delivered", "2026-10-03T00:00:00Z", 70, "v1"),
            ("e3", "1000002", "wms", None, "2026-10-02T00:00:00Z", None, "v1"),
        ],
    )
    outcome = validate(db_url, CANONICAL_EVENTS)
    assert outcome.success, outcome.summary()
    assert outcome.suite_version == CANONICAL_EVENTS.version


def test_bad_events_fail_and_name_what_is_wrong(db_url: str) -> None:
    _make_events(
        db_url,
        [
            ("e1", "1000001", "erp", "placed", "2026-10-01T00:00:00Z", 10, "v1"),
            ("e1", "1000001", "erp", "teleported", "2026-10-01T00:00:00Z", 10, "v2"),
            ("e2", None, "sap", "placed", "2026-10-01T00:00:00Z", 10, "v1"),
            # e3 is e4 again under another id: the same record, field, code and time
            ("e3", "1000003", "wms", "packed", "2026-10-02T00:00:00Z", 40, "v1", "rec-p"),
            ("e4", "1000003", "wms", "packed", "2026-10-02T00:00:00Z", 40, "v1", "rec-p"),
        ],
    )
    outcome = validate(db_url, CANONICAL_EVENTS)
    assert not outcome.success
    failed = {(f.type, f.column) for f in outcome.failures}
    assert ("ExpectColumnValuesToBeUnique", "event_id") in failed
    assert ("ExpectColumnValuesToNotBeNull", "order_id") in failed
    assert ("ExpectColumnValuesToBeInSet", "canonical_status") in failed
    assert ("ExpectColumnValuesToBeInSet", "source_system") in failed
    assert ("ExpectColumnUniqueValueCountToBeBetween", "crosswalk_version") in failed
    assert ("ExpectCompoundColumnsToBeUnique", None) in failed
    summary = outcome.summary()
    assert "marts.fct_order_status_events" in summary
    assert "teleported" in summary
    assert "sap" in summary


def test_suite_version_changes_with_the_suite() -> None:
    assert CANONICAL_EVENTS.version != CURRENT_STATUS.version
    assert len(CANONICAL_EVENTS.version) == 64


def test_exceptions_suite_accepts_every_type_and_rejects_others(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "create schema if not exists marts;"
            "create table marts.fct_order_exceptions(exception_id text, order_id text,"
            " exception_type text, severity text, detected_since timestamptz)"
        )
        conn.execute(
            "insert into marts.fct_order_exceptions values"
            " ('x1', '1000001', 'misroute', 'error', '2026-10-01T00:00:00Z'),"
            " ('x2', '1000002', 'stuck_beyond_sla', 'warning', '2026-10-01T00:00:00Z')"
        )
    assert validate(db_url, ORDER_EXCEPTIONS).success
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into marts.fct_order_exceptions values"
            " ('x3', '1000003', 'lost', 'fatal', '2026-10-01T00:00:00Z')"
        )
    outcome = validate(db_url, ORDER_EXCEPTIONS)
    assert not outcome.success
    assert {f.column for f in outcome.failures} == {"exception_type", "severity"}
