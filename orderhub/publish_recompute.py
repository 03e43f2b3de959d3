"""The publish's recompute: the orders whose raw rows a build may not have read, re-derived
into its colour before it is published.

A build reads the raw tables at its watermark; a live push or a sync may store records
after that. :func:`records_after` finds them (by the batch that stored them), and the hook
:func:`publish_hook` makes (registered with :func:`orderhub.publishing.register_recompute`)
re-derives them with the per-order engine (:mod:`orderhub.recompute`) inside the publish
transaction, so the colour published is no older than what the live path already showed.

The engine's selects are compiled for the colour by a ``dbt compile`` (seconds). When the
build's batches are all visible to it, which is every publish of a warehouse no push writes
to, nothing is to be re-derived and the compile is not run; when records are there before
the publish, the compile runs before the publish takes its lock, so the lock is not held
for it; records that arrive in between are compiled for inside the lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orderhub.publishing import ColourSchemas, RecomputeHook, build_snapshot, build_watermark
from orderhub.recompute import CompiledModel, compile_models, recompute_orders, rederive_events
from orderhub.sources import API_SYSTEMS

#: How long before a build's raw watermark a batch with no closing transaction recorded (one
#: closed before batches kept it) may have finished and still have committed its rows after
#: the build read the raw tables (``finished_at`` is the closing transaction's start): its
#: records are recomputed too - recomputing more is harmless.
COMMIT_MARGIN = timedelta(minutes=1)


def records_after(
    conn: psycopg.Connection[Any], watermark: datetime, snapshot: str | None = None
) -> list[tuple[str, str]]:
    """The source records (system, key) with a raw row in a batch the build may not have
    read - from each batch's raw table, ``raw_<system>.<stream>`` (a record of a stream no
    event comes from derives nothing: harmless). A batch still open, or closed by a
    transaction the build's ``snapshot`` (taken with its ``watermark``) does not see; a
    batch with no closing transaction recorded, or any batch when there is no snapshot, by
    time: finished after ``watermark`` less :data:`COMMIT_MARGIN`."""
    batches = conn.execute(
        "select system, stream, array_agg(batch_id) from orderhub_meta.extraction_batches"
        " where system = any(%s) and case"
        "   when finished_at is null then true"
        "   when closed_xid is null or %s::pg_snapshot is null then finished_at > %s"
        "   else not pg_visible_in_snapshot(closed_xid, %s::pg_snapshot) end"
        " group by system, stream order by system, stream",
        (list(API_SYSTEMS), snapshot, watermark - COMMIT_MARGIN, snapshot),
    ).fetchall()
    found: set[tuple[str, str]] = set()
    for system, stream, batch_ids in batches:
        query = sql.SQL("select distinct record_key from {} where batch_id = any(%s)").format(
            sql.Identifier(f"raw_{system}", stream)
        )
        found.update((str(system), str(key)) for (key,) in conn.execute(query, (batch_ids,)))
    return sorted(found)


def pending_for_build(conn: psycopg.Connection[Any], colour: str) -> list[tuple[str, str]]:
    """The records the build of ``colour`` may not have read (none when it has no
    watermark)."""
    watermark = build_watermark(conn, colour)
    if watermark is None:
        return []
    return records_after(conn, watermark, build_snapshot(conn, colour))


def publish_hook(database_url: str, work: Path, colour: str) -> RecomputeHook:
    """The publish step's recompute hook for a publish of ``colour`` (see the module): in
    the publish transaction it re-derives, in that colour, the records with raw rows after
    the build's watermark and recomputes their orders. It writes no outbox row: the live
    path told subscribers of those changes when it made them."""
    compiled: list[CompiledModel] = []

    def models() -> list[CompiledModel]:
        if not compiled:
            compiled.extend(compile_models(database_url, work, colour=colour))
        return compiled

    with psycopg.connect(database_url) as conn:
        if pending_for_build(conn, colour):
            models()  # before the publish takes its lock

    def hook(conn: psycopg.Connection[Any], watermark: datetime, into: ColourSchemas) -> int:
        if into.colour != colour:
            raise RuntimeError(f"compiled for {colour}, asked to recompute into {into.colour}")
        records = records_after(conn, watermark, build_snapshot(conn, colour))
        if not records:
            return 0
        engine = models()
        orders = rederive_events(conn, engine[0], records)
        recompute_orders(conn, engine[1:], orders)
        return len(orders)

    return hook


__all__ = ["COMMIT_MARGIN", "pending_for_build", "publish_hook", "records_after"]
