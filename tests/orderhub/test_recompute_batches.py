"""Which source records a publish re-derives: those of the batches its build did not see.

A build records, with its raw watermark, the snapshot of its start; a batch closed by a
transaction that snapshot sees was read by the build, however close to it it finished, and
is not re-derived at publish (re-deriving a whole initial load there cost as much as the
build). A batch still open, or closed after the snapshot, is re-derived. The lock key of a
record the per-order engine takes is the one the hot path's take skips, in Python and SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from connectors.schema import ensure_schema
from orderhub import publishing
from orderhub.publish_recompute import records_after
from orderhub.recompute import RECORD_LOCK_SQL, record_lock_name


def _batch(conn: psycopg.Connection, batch_id: str, key: str, *, closed: bool) -> None:
    conn.execute(
        "insert into orderhub_meta.extraction_batches (batch_id, system, stream, started_at,"
        " finished_at, closed_xid, status) values (%s, 'tms', 'trackers', now(),"
        " case when %s then now() end, case when %s then pg_current_xact_id() end, %s)",
        (batch_id, closed, closed, "succeeded" if closed else "running"),
    )
    conn.execute(
        "insert into raw_tms.trackers (record_key, content_hash, data, batch_id, extracted_at)"
        " values (%s, %s, '{}', %s, now())",
        (key, f"hash-{key}", batch_id),
    )


def test_a_publish_rederives_only_the_batches_its_build_did_not_see(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        ensure_schema(conn)
        _batch(conn, "seen", "trk_seen", closed=True)  # closed a moment before the build
        _batch(conn, "open", "trk_open", closed=False)  # still open when the build started
        publishing.ensure_pointer(conn)
        watermark = publishing.record_build(conn, "blue")
        snapshot = publishing.build_snapshot(conn, "blue")
        _batch(conn, "later", "trk_later", closed=True)  # closed after the build started
        # an old batch with no closing transaction recorded falls back to the time rule
        conn.execute(
            "insert into orderhub_meta.extraction_batches (batch_id, system, stream,"
            " started_at, finished_at, status) values ('old', 'tms', 'trackers', now(),"
            " now(), 'succeeded')"
        )
        conn.execute(
            "insert into raw_tms.trackers (record_key, content_hash, data, batch_id,"
            " extracted_at) values ('trk_old', 'hash-old', '{}', 'old', now())"
        )
        assert snapshot is not None and watermark <= datetime.now(UTC)
        found = records_after(conn, watermark, snapshot)
        assert found == [("tms", "trk_later"), ("tms", "trk_old"), ("tms", "trk_open")]
        # without the snapshot (a build recorded before there were any) every batch that
        # finished within the margin of the watermark counts
        assert ("tms", "trk_seen") in records_after(conn, watermark)


def test_the_record_lock_key_is_the_same_in_python_and_sql(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        (named,) = conn.execute(
            "select hashtextextended(%s, 0)", (record_lock_name("tms", "trk_1"),)
        ).fetchone()
        (in_sql,) = conn.execute(
            f"select {RECORD_LOCK_SQL} from (values ('tms', 'trk_1')) as r(system, record_key)"
        ).fetchone()
    assert named == in_sql
