"""The hot-path tests' warehouse: the dbt tests' main scenario, its first deliveries built by
dbt, and the rest pushed through the intake, recomputed by the hot path, then compared with
a ``dbt run --full-refresh`` of the same raw data."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from dbt_builds import build, database, load, run_dbt
from dbt_records import Batch
from dbt_scenarios import unknown_batches

from orderhub.live.hot_path import HotPath
from orderhub.live.intake import Intake, Item
from orderhub.live.receivers import Pushed
from orderhub.live_tables import ensure_live_schema
from orderhub.recompute import HOT_PATH_MODELS, CompiledModel

#: Columns that say when or by which run a row was built, not what it derived.
STAMPS = {"built_at"}

Version = tuple[str, dict[str, Any]]


@contextmanager
def sandbox_template(pg_server: str, work: Path, orders: int = 30) -> Iterator[str]:
    """A warehouse holding the sandbox scenario's records, polled and built by dbt."""
    from live_world import sandbox_store

    from connectors.sync import load_records
    from orderhub.sources import API_SYSTEMS
    from sandbox.store import CURSOR_FIELD

    store = sandbox_store(orders)
    with database(pg_server) as url:
        for system in API_SYSTEMS:
            records = [{k: v for k, v in r.items() if v is not None} for r in store.records(system)]
            load_records(url, system, records, max(r[CURSOR_FIELD[system]] for r in records))
        built = build(url, work, "--exclude", "resource_type:test")
        assert built.success, built.not_passing()
        yield url


@contextmanager
def built_template(pg_server: str, work: Path) -> Iterator[str]:
    """A warehouse with the scenario's first two deliveries built by dbt (no tests run)."""
    with database(pg_server) as url:
        load(url, unknown_batches()[:2])
        built = build(url, work, "--exclude", "resource_type:test")
        assert built.success, built.not_passing()
        yield url


def versions(batches: Sequence[Batch]) -> list[Version]:
    """Every (system, record) version of ``batches``."""
    return [(batch.system, record) for batch in batches for record in batch.records]


def push(url: str, micro_batches: Sequence[Sequence[Version]]) -> Intake:
    """Store each micro-batch through the intake (as the receivers do)."""
    with psycopg.connect(url) as conn:
        ensure_live_schema(conn)
    intake = Intake(url, None)
    for micro in micro_batches:
        items = [
            Item(system, Pushed(secrets.token_hex(8), dict(record), dict(record)))
            for system, record in micro
        ]
        intake.store(items)
        for item in items:
            item.done.result(timeout=0)
    return intake


def drain(url: str, models: Sequence[CompiledModel], workers: int = 1, batch: int = 500) -> None:
    """Run ``workers`` hot-path workers in parallel until nothing is pending."""
    errors: list[BaseException] = []

    def work() -> None:
        hot = HotPath(url, lambda _colour: models, batch=batch)
        try:
            while hot.step() or pending(url):
                pass
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def pending(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from orderhub_meta.live_pending").fetchone()
    return int(row[0]) if row else 0


def marts(url: str) -> dict[str, list[str]]:
    """The hot-path marts' rows (sorted, build stamps left out)."""
    found = {}
    with psycopg.connect(url) as conn:
        for table in HOT_PATH_MODELS:
            columns = [
                name
                for (name,) in conn.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = 'marts' and table_name = %s order by column_name",
                    (table,),
                )
                if name not in STAMPS
            ]
            rows = conn.execute(f"select {', '.join(columns)} from marts.{table}").fetchall()
            found[table] = sorted(map(repr, rows))
    return found


def full_refresh(url: str, work: Path) -> None:
    """``dbt run --full-refresh`` of the hot-path marts and what they read."""
    selected = [f"+{name}" for name in HOT_PATH_MODELS]
    result, _ = run_dbt(url, work, "run", "--full-refresh", "--select", *selected)
    assert result.exception is None and result.success, result.exception
