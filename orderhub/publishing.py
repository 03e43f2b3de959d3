"""The publish rule every writer of the published marts shares (write-audit-publish).

The marts live twice, in ``marts_blue`` and ``marts_green``; the pointer table
``orderhub_meta.published`` names the colour the ``api`` views read. A batch build writes
the other colour, its blocking checks run there, and :func:`publish` then, in one
transaction, repoints every ``api`` view (and function) and the ``marts`` schema's views at
the new colour and flips the pointer. Whatever fails before that leaves the API serving
the last published colour, unchanged.

The rule with the live path (the hot path that writes single orders into the published
marts between builds):

- :data:`PUBLISH_LOCK` is a transaction-level advisory lock key. :func:`publish` takes it
  exclusive; a writer to the published marts takes it shared, once per micro-batch
  (:func:`hold_publish_lock` with ``shared=True``), so the pointer cannot flip under a
  micro-batch and a publish waits for the one in flight.
- Each build records its *raw watermark* (:func:`record_build`): the database time just
  before the build read the raw tables. Raw rows that arrived later are not in the build.
- Under the exclusive lock, before repointing, :func:`publish` calls
  :func:`recompute_orders_after` with that watermark and the new colour's schemas: every
  registered :data:`RecomputeHook` recomputes, in the new colour, the orders whose raw rows
  arrived after the watermark (the live path registers its per-order engine - the compiled
  SQL of the incremental marts - with :func:`register_recompute`). With no hook registered
  it does nothing. So a publish never rolls back a live change that came after its build.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

COLOURS = ("blue", "green")
#: The colour a warehouse publishes first (and the one read before anything was published).
FIRST_COLOUR = COLOURS[0]
#: The schema of views onto the published colour's marts (what readers other than the API
#: read by name: the audit, the claims, the demo summary).
PUBLISHED_MARTS = "marts"
#: pg_advisory_xact_lock key of the publish rule ("orderhub publish" as two int4 halves
#: would do too; one bigint is simpler to name in SQL): exclusive to publish, shared to
#: each micro-batch of a writer to the published marts.
PUBLISH_LOCK = 0x6F68_7075_626C_6973  # "ohpublis"

POINTER_DDL = """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.published (
    layer text primary key,
    colour text not null check (colour in ('blue', 'green')),
    raw_watermark timestamptz,
    published_at timestamptz not null default now(),
    run_id text
);
create table if not exists orderhub_meta.builds (
    colour text primary key check (colour in ('blue', 'green')),
    raw_watermark timestamptz not null,
    built_at timestamptz not null default now(),
    run_id text
);
-- the transactions the build's reads can see: a batch closed by one of them is not re-derived
alter table orderhub_meta.builds add column if not exists raw_snapshot pg_snapshot;
"""


@dataclass(frozen=True)
class ColourSchemas:
    """The schemas of one colour: today its marts."""

    colour: str
    marts: str

    @classmethod
    def of(cls, colour: str) -> ColourSchemas:
        if colour not in COLOURS:
            raise ValueError(f"colour must be one of {COLOURS}, not {colour!r}")
        return cls(colour, f"marts_{colour}")


#: ``hook(conn, raw_watermark, schemas)``: recompute, inside ``conn``'s transaction, every
#: order whose raw rows arrived after ``raw_watermark`` into the marts of ``schemas`` (the
#: colour about to be published); returns how many orders it recomputed.
RecomputeHook = Callable[[psycopg.Connection[Any], datetime, ColourSchemas], int]
_RECOMPUTE_HOOKS: list[RecomputeHook] = []


def register_recompute(hook: RecomputeHook) -> Callable[[], None]:
    """Register ``hook`` with :func:`recompute_orders_after`; returns its unregistration."""
    _RECOMPUTE_HOOKS.append(hook)
    return lambda: _RECOMPUTE_HOOKS.remove(hook)


def recompute_orders_after(
    conn: psycopg.Connection[Any], raw_watermark: datetime, schemas: ColourSchemas
) -> int:
    """Every registered hook, in order (see the module); the orders recomputed."""
    return sum(hook(conn, raw_watermark, schemas) for hook in list(_RECOMPUTE_HOOKS))


def ensure_pointer(conn: psycopg.Connection[Any]) -> None:
    conn.execute(POINTER_DDL)


def hold_publish_lock(conn: psycopg.Connection[Any], *, shared: bool) -> None:
    """Take :data:`PUBLISH_LOCK` until ``conn``'s transaction ends (waits for it)."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    conn.execute(sql.SQL("select {}(%s)").format(sql.Identifier(function)), (PUBLISH_LOCK,))


def published_colour(conn: psycopg.Connection[Any]) -> str | None:
    """The colour the api reads, or None before the first publish."""
    if conn.execute("select to_regclass('orderhub_meta.published')").fetchone() == (None,):
        return None
    row = conn.execute(
        "select colour from orderhub_meta.published where layer = 'marts'"
    ).fetchone()
    return None if row is None else str(row[0])


def published_schemas(conn: psycopg.Connection[Any]) -> ColourSchemas:
    """The schemas of the published colour (:data:`FIRST_COLOUR`'s before any publish):
    where a writer to the published marts writes, under the shared lock."""
    return ColourSchemas.of(published_colour(conn) or FIRST_COLOUR)


def build_colour(conn: psycopg.Connection[Any]) -> ColourSchemas:
    """The colour the next batch build writes: the one not published."""
    live = published_colour(conn)
    if live is None:
        return ColourSchemas.of(FIRST_COLOUR)
    return ColourSchemas.of(COLOURS[1 - COLOURS.index(live)])


def record_build(conn: psycopg.Connection[Any], colour: str, run_id: str | None = None) -> datetime:
    """Note that a build of ``colour`` starts now; its raw watermark (the database's time)."""
    ensure_pointer(conn)
    row = conn.execute(
        "insert into orderhub_meta.builds (colour, raw_watermark, raw_snapshot, run_id)"
        " values (%s, clock_timestamp(), pg_current_snapshot(), %s) on conflict (colour) do"
        " update set raw_watermark = excluded.raw_watermark, built_at = now(),"
        " raw_snapshot = excluded.raw_snapshot, run_id = excluded.run_id"
        " returning raw_watermark",
        (ColourSchemas.of(colour).colour, run_id),
    ).fetchone()
    assert row is not None
    return row[0]


def build_watermark(conn: psycopg.Connection[Any], colour: str) -> datetime | None:
    row = conn.execute(
        "select raw_watermark from orderhub_meta.builds where colour = %s", (colour,)
    ).fetchone()
    return None if row is None else row[0]


def build_snapshot(conn: psycopg.Connection[Any], colour: str) -> str | None:
    """The snapshot taken with the build's watermark (``pg_snapshot`` as text; None for a
    build recorded before snapshots were): its reads saw every transaction that one saw."""
    row = conn.execute(
        "select raw_snapshot::text from orderhub_meta.builds where colour = %s", (colour,)
    ).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class Published:
    """What :func:`publish` did."""

    colour: str
    previous: str | None
    raw_watermark: datetime | None
    recomputed_orders: int
    api_objects: tuple[str, ...]
    marts: tuple[str, ...]


def _mart_tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "select c.relname from pg_catalog.pg_class c"
        " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p') order by c.relname",
        (schema,),
    ).fetchall()
    return [str(row[0]) for row in rows]


def _repoint_marts(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The ``marts`` schema's views, one per table of ``schema`` (a table left there by a
    development build is replaced)."""
    tables = _mart_tables(conn, schema)
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(PUBLISHED_MARTS)))
    kinds = dict(
        conn.execute(
            "select c.relname, c.relkind from pg_catalog.pg_class c"
            " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p', 'v')",
            (PUBLISHED_MARTS,),
        ).fetchall()
    )
    for table in tables:
        target = sql.Identifier(PUBLISHED_MARTS, table)
        if table in kinds:
            kind = "view" if kinds[table] == "v" else "table"
            conn.execute(sql.SQL("drop {} {}").format(sql.SQL(kind), target))
        conn.execute(
            sql.SQL("create view {} with (security_invoker = true) as select * from {}").format(
                target, sql.Identifier(schema, table)
            )
        )
    return tables


def publish(
    conn: psycopg.Connection[Any],
    colour: str,
    api_objects: Mapping[str, tuple[str, str]],
    *,
    api_schema: str = "api",
    run_id: str | None = None,
) -> Published:
    """Publish ``colour`` in one transaction on ``conn`` (see the module).

    ``api_objects``: per api object name, its kind (``view`` or ``function``) and its SQL
    compiled for ``colour`` (a view's query; a function's signature and body). Each is
    replaced in place (``create or replace``: its grants, comments and owner stay).
    """
    schemas = ColourSchemas.of(colour)
    ensure_pointer(conn)
    with conn.transaction():
        hold_publish_lock(conn, shared=False)
        previous = published_colour(conn)
        watermark = build_watermark(conn, colour)
        recomputed = 0 if watermark is None else recompute_orders_after(conn, watermark, schemas)
        for name, (kind, body) in sorted(api_objects.items()):
            target = sql.Identifier(api_schema, name)
            if kind == "view":
                statement = sql.SQL(
                    "create or replace view {} with (security_invoker = true) as {}"
                ).format(target, sql.SQL(body))
            else:
                statement = sql.SQL("create or replace function {} {}").format(
                    target, sql.SQL(body)
                )
            conn.execute(statement)
        marts = _repoint_marts(conn, schemas.marts)
        conn.execute(
            "insert into orderhub_meta.published (layer, colour, raw_watermark, run_id)"
            " values ('marts', %s, %s, %s) on conflict (layer) do update set"
            " colour = excluded.colour, raw_watermark = excluded.raw_watermark,"
            " published_at = now(), run_id = excluded.run_id",
            (colour, watermark, run_id),
        )
    return Published(
        colour, previous, watermark, recomputed, tuple(sorted(api_objects)), tuple(marts)
    )


def marts_of(conn: psycopg.Connection[Any], colour: str | None = None) -> str:
    """The marts schema of ``colour``, or of the published colour."""
    return (ColourSchemas.of(colour) if colour else published_schemas(conn)).marts


__all__ = [
    "COLOURS",
    "FIRST_COLOUR",
    "PUBLISHED_MARTS",
    "PUBLISH_LOCK",
    "ColourSchemas",
    "Published",
    "RecomputeHook",
    "build_colour",
    "build_snapshot",
    "build_watermark",
    "ensure_pointer",
    "hold_publish_lock",
    "marts_of",
    "publish",
    "published_colour",
    "published_schemas",
    "recompute_orders_after",
    "record_build",
    "register_recompute",
]
