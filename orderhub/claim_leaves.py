"""The leaves of a build's claims tree, kept between builds per marts schema, so that a
build hashes again only the claims of the orders whose rows changed.

The claims tree (:mod:`orderhub.claims`) has one leaf per order: the SHA-256 of its claim.
Read whole, it costs a scan of three marts and a claim per order (4.5-4.7 s at 100,000
orders), although an incremental build rewrites the rows of about as many orders as moved.
The three marts stamp every row they write (``built_at``: a dbt build's start, or the time
of the live path's transaction), so :func:`kept_claims_tree` keeps each order's leaf in
``orderhub_meta.claim_leaves`` and, per schema, a mark in ``orderhub_meta.claim_leaf_marks``:
the newest stamp among the rows the kept leaves were made from. A later call reads again
only the claims of

- the orders with a row in one of the three marts stamped after the mark (and the orders an
  event re-derived after it left: its ``previous_order_ids``);
- the orders with a kept leaf but neither a status row nor an event any more (gone).

It replaces their leaves and makes the tree from every kept leaf in leaf order (order ids
bytewise), all in one repeatable-read transaction, so the new mark is the newest stamp of
the rows it read. The tree is the one :func:`orderhub.claims.claims_tree_of` makes
(``tests/orderhub/test_claim_leaves.py`` compares them after builds that change, add and
remove orders).

Every claim is read again, and every leaf written anew, when the schema has no mark yet,
when one of the three tables is another table than the one the mark was made on (a
``--full-refresh``, a new warehouse: another oid) or when the leaf rule changed
(:data:`LEAF_RULE`). Marts without ``built_at`` (nothing to tell a changed row by) are read
whole each time and nothing is kept.

What is not seen: a mart row changed without a new stamp (by hand: dbt and the live path
stamp every row they write), and a row stamped earlier than the mark but written later (the
live path's clock, the warehouse's, behind the dbt host's): the same holes as the dbt
tests' marks (``dbt_project/README.md``) and the events suite's (:mod:`quality.new_rows`).
The root still commits to what the build derived, and a trace of such an order proves the
mart's row against it and fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import psycopg
from psycopg import sql

from ledger.batches import BatchTree
from ledger.bundle.tables import row_hash
from orderhub.claims import (
    EVENTS,
    ORDERS,
    SHIPMENTS,
    claims_in_order,
    claims_tree_of,
    order_claims,
)

#: The rule a kept leaf was made by: change it whenever a claim's content or its hash
#: changes (``order_claim``, ``row_hash``, the columns a claim reads), so that every kept
#: leaf is made again (``tests/orderhub/test_claim_leaves.py`` pins one leaf's hash).
LEAF_RULE = "order-claim-1"

#: Leaves written per COPY.
WRITE_ROWS = 5000

TABLES = """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.claim_leaves (
    marts_schema text not null,
    order_id text not null,
    content_hash bytea not null,
    primary key (marts_schema, order_id)
);
create table if not exists orderhub_meta.claim_leaf_marks (
    marts_schema text primary key,
    covered_through timestamptz,
    tables text not null
)
"""


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _relations(marts: str) -> list[sql.Composable]:
    return [sql.Identifier(marts, name.split(".", 1)[1]) for name in (ORDERS, SHIPMENTS, EVENTS)]


def _ensure(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('orderhub_meta.claim_leaves'))")
        conn.execute(TABLES)


def _keepable(conn: psycopg.Connection[Any], marts: str) -> bool:
    """Whether each of the three marts has a ``built_at`` column, and the events mart its
    ``previous_order_ids``."""
    names = [name.split(".", 1)[1] for name in (ORDERS, SHIPMENTS, EVENTS)]
    found = conn.execute(
        "select count(*) filter (where column_name = 'built_at'),"
        " count(*) filter (where column_name = 'previous_order_ids' and table_name = %s)"
        " from information_schema.columns where table_schema = %s and table_name = any(%s)",
        (names[2], marts, names),
    ).fetchone()
    return found is not None and tuple(found) == (len(names), 1)


def _identity(conn: psycopg.Connection[Any], marts: str) -> str:
    """The leaf rule and the three tables' oids: another value, another set of leaves."""
    names = [relation.as_string(conn) for relation in _relations(marts)]
    found = conn.execute(
        "select to_regclass(%s)::oid, to_regclass(%s)::oid, to_regclass(%s)::oid", names
    ).fetchone()
    return "|".join([LEAF_RULE, *map(str, found or ())])


def _newest(conn: psycopg.Connection[Any], marts: str) -> datetime | None:
    parts = [sql.SQL("select max(built_at) as stamp from {}").format(r) for r in _relations(marts)]
    union = sql.SQL(" union all ").join(parts)
    query = sql.SQL("select max(stamp) from ({}) as stamps").format(union)
    found = conn.execute(query).fetchone()
    return None if found is None else found[0]


def _changed_orders(conn: psycopg.Connection[Any], marts: str, mark: datetime | None) -> list[str]:
    """The orders with a row stamped after ``mark`` (or left by an event re-derived after
    it), and the orders kept but gone from the statuses and the events."""
    orders, shipments, events = _relations(marts)
    stamped = sql.SQL(
        "select order_id from {table} where built_at > {mark} and order_id is not null"
    )
    mark_value = sql.SQL("coalesce({}::timestamptz, '-infinity')").format(sql.Literal(mark))
    parts = [stamped.format(table=t, mark=mark_value) for t in (orders, shipments, events)]
    parts.append(
        sql.SQL(
            "select jsonb_array_elements_text(previous_order_ids) from {} where built_at > {}"
        ).format(events, mark_value)
    )
    parts.append(
        sql.SQL(
            "select kept.order_id from orderhub_meta.claim_leaves as kept"
            " where kept.marts_schema = {schema}"
            " and not exists (select from {orders} as o where o.order_id = kept.order_id)"
            " and not exists (select from {events} as e where e.order_id = kept.order_id)"
        ).format(schema=sql.Literal(marts), orders=orders, events=events)
    )
    query = sql.SQL(" union ").join(parts)
    return [row[0] for row in conn.execute(query) if row[0] is not None]


def _write_leaves(
    conn: psycopg.Connection[Any], marts: str, leaves: Iterable[tuple[str, bytes]]
) -> None:
    """COPY the leaves in sets of :data:`WRITE_ROWS` (made between the COPYs: the claims
    are read from server-side cursors of the same connection)."""
    for chunk in _batched(leaves, WRITE_ROWS):
        with conn.cursor().copy(
            "copy orderhub_meta.claim_leaves (marts_schema, order_id, content_hash) from stdin"
        ) as copy:
            for order_id, content_hash in chunk:
                copy.write_row((marts, order_id, content_hash))


def _rewrite_all(conn: psycopg.Connection[Any], marts: str) -> None:
    conn.execute("delete from orderhub_meta.claim_leaves where marts_schema = %s", (marts,))
    claims = claims_in_order(conn, marts=marts)
    _write_leaves(conn, marts, ((c["order_id"], row_hash(c)) for c in claims))


def _rewrite(conn: psycopg.Connection[Any], marts: str, orders: Sequence[str]) -> None:
    conn.execute(
        "delete from orderhub_meta.claim_leaves where marts_schema = %s and order_id = any(%s)",
        (marts, list(orders)),
    )
    claims = order_claims(conn, orders, marts=marts)
    _write_leaves(conn, marts, ((order, row_hash(claim)) for order, claim in claims.items()))


def _kept_tree(conn: psycopg.Connection[Any], marts: str) -> BatchTree:
    with conn.cursor(name="claim_leaves") as cursor:
        cursor.itersize = 20000
        cursor.execute(
            "select content_hash from orderhub_meta.claim_leaves where marts_schema = %s"
            ' order by order_id collate "C"',
            (marts,),
        )
        return BatchTree(bytes(row[0]) for row in cursor)


def kept_claims_tree(url: str, marts: str = "marts") -> BatchTree:
    """The claims tree of the marts in ``marts``, from the kept leaves, made again for the
    orders changed since (see the module)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        if not _keepable(conn, marts):
            with conn.transaction():
                return claims_tree_of(conn, marts=marts)
        _ensure(conn)
        with conn.transaction():
            conn.execute(
                "select pg_advisory_xact_lock(hashtext('orderhub_meta.claim_leaves'),"
                " hashtext(%s))",
                (marts,),
            )
            tables, newest = _identity(conn, marts), _newest(conn, marts)
            kept = conn.execute(
                "select covered_through, tables from orderhub_meta.claim_leaf_marks"
                " where marts_schema = %s",
                (marts,),
            ).fetchone()
            if kept is None or kept[1] != tables:
                _rewrite_all(conn, marts)
            else:
                _rewrite(conn, marts, _changed_orders(conn, marts, kept[0]))
            conn.execute(
                "insert into orderhub_meta.claim_leaf_marks (marts_schema, covered_through,"
                " tables) values (%s, %s, %s) on conflict (marts_schema) do update set"
                " covered_through = excluded.covered_through, tables = excluded.tables",
                (marts, newest, tables),
            )
            return _kept_tree(conn, marts)


__all__ = ["LEAF_RULE", "kept_claims_tree"]
