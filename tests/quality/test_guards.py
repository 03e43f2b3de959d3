"""The guards of a build against the published one: they pass on a like build, and fail
when the build lost rows or its statuses moved beyond the thresholds."""

from __future__ import annotations

import psycopg

from quality.guards import Guard, check_guard


def _tables(url: str, published: list[str], built: list[str]) -> None:
    with psycopg.connect(url) as conn:
        for schema, statuses in (("marts_blue", published), ("marts_green", built)):
            conn.execute(f"create schema {schema}")
            conn.execute(f"create table {schema}.orders (canonical_status text)")
            for status in statuses:
                conn.execute(f"insert into {schema}.orders values (%s)", (status,))


def test_row_count_and_distribution(db_url: str) -> None:
    _tables(db_url, ["created"] * 30 + ["delivered"] * 10, ["delivered"] * 12)
    count = Guard("rows", "orders", max_drop=0.5)
    shares = Guard("shares", "orders", "canonical_status", max_shift=0.5)
    lost = check_guard(db_url, count, "marts_green", "marts_blue")
    assert not lost.passed and "(70.0% lost" in lost.description
    moved = check_guard(db_url, shares, "marts_green", "marts_blue")
    assert not moved.passed and "75.0%" in moved.description
    assert check_guard(db_url, count, "marts_blue", "marts_blue").passed
    assert check_guard(db_url, count, "marts_green", None).passed
    assert check_guard(
        db_url, Guard("rows", "orders", min_rows=100), "marts_green", "marts_blue"
    ).passed
