"""The leaves of a build's claims tree, kept between builds per marts schema, so that a
build hashes again only the claims of the orders whose rows changed.

The claims tree (:mod:`orderhub.claims`) has one leaf per order: the SHA-256 of its claim.
Read whole, it costs a scan of three marts and a claim per order (4.5-5.1 s at 100,000
orders), although an incremental build rewrites the rows of about as many orders as moved.
The three marts stamp every row they write (``built_at``: a dbt build's start, or the time
of the live path's transaction). :func:`kept_claims_tree` keeps each order's leaf in
``orderhub_meta.claim_leaves`` with the order's rows in each mart, and per schema a mark
in ``orderhub_meta.claim_leaf_marks``: the newest stamp among the rows the kept leaves were
made from. A later call reads again only the claims of

- the orders with a row stamped after the mark (and the orders an event re-derived after
  it left: its ``previous_order_ids``);
- the orders whose rows in a mart are not as many as when their leaf was made: a row
  deleted with nothing stamped in its place (an order gone, a shipment dropped by a mart
  rebuilt on its own) - a count over the three marts, about 0.3 s at 100,000 orders.

It replaces their leaves and makes the tree from every kept leaf in leaf order (order ids
bytewise), all in one repeatable-read snapshot taken after waiting for any other caller on
the same schema, so the new mark is the newest stamp of the rows it read.

Every claim is streamed again, and every leaf written anew, when the schema has no mark
yet, when one of the three tables is another table than the one the mark was made on (a
``--full-refresh``, a new warehouse: another oid), when the leaf rule changed
(:data:`LEAF_RULE`), or when more orders changed than :data:`REWRITE_ALL_AT` or a quarter
of the kept leaves (a mart rewritten in place). Marts without ``built_at`` are read whole
each time and nothing is kept.

The flow uses it for a colour of the marts only (:mod:`orchestration.derived_state`): the
live path writes the published colour, never the one being built, so no row is written
while its tree is made. What is not seen: a mart row updated in place without a new stamp
(by hand: dbt and the live path delete and insert, stamping every row they write), and a
row stamped earlier than the mark but written later (the dbt host's clock ahead of the
warehouse's): the same holes as the dbt tests' marks (``dbt_project/README.md``) and the
events suite's (:mod:`quality.new_rows`). The root still commits to what the build derived,
and a trace of such an order proves the mart's row against it and fails.
``delete from orderhub_meta.claim_leaf_marks`` makes the next build read every claim.
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
from orderhub.warehouse import apply_ddl

#: The rule a kept leaf was made by: change it whenever a claim's content or its hash
#: changes (``order_claim``, ``row_hash``, the columns a claim reads), so that every kept
#: leaf is made again (``tests/orderhub/test_claim_leaves.py`` pins one leaf's hash).
LEAF_RULE = "order-claim-1"

#: Leaves written per COPY.
WRITE_ROWS = 5000
#: Changed orders beyond which every claim is streamed again rather than read by id (or a
#: quarter of the kept leaves, when more).
REWRITE_ALL_AT = 20000

TABLES = """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.claim_leaves (
    marts_schema text not null,
    order_id text not null,
    content_hash bytea not null,
    status_rows int,
    shipment_rows int,
    event_rows int,
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


#: The three marts' table names (their schema is the colour's).
TABLE_NAMES: tuple[str, ...] = tuple(name.split(".", 1)[1] for name in (ORDERS, SHIPMENTS, EVENTS))


def _relations(marts: str) -> list[sql.Composable]:
    return [sql.Identifier(marts, name) for name in TABLE_NAMES]


def _ensure(conn: psycopg.Connection[Any]) -> None:
    apply_ddl(conn, "orderhub_meta.claim_leaves", TABLES)


def _keepable(conn: psycopg.Connection[Any], marts: str) -> bool:
    """Whether each of the three marts has a ``built_at`` column, and the events mart its
    ``previous_order_ids``."""
    names = list(TABLE_NAMES)
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


def _counted(marts: str, orders: sql.Composable) -> sql.Composed:
    """Per order with a claim (a status or an event), its rows in each of the three marts;
    ``orders``: a condition on ``order_id`` (``true`` for every order)."""
    status, shipments, events = _relations(marts)
    return sql.SQL(
        "select order_id, sum(s)::int as status_rows, sum(h)::int as shipment_rows,"
        " sum(e)::int as event_rows from ("
        " select order_id, 1 as s, 0 as h, 0 as e from {status}"
        " where order_id is not null and {orders}"
        " union all select order_id, 0, count(*), 0 from {shipments}"
        " where order_id is not null and {orders} group by order_id"
        " union all select order_id, 0, 0, count(*) from {events}"
        " where order_id is not null and {orders} group by order_id"
        ") as rows_of group by order_id having sum(s) + sum(e) > 0"
    ).format(status=status, shipments=shipments, events=events, orders=orders)


def _changed_orders(conn: psycopg.Connection[Any], marts: str, mark: datetime | None) -> list[str]:
    """The orders with a row stamped after ``mark`` (or left by an event re-derived after
    it), and the orders whose rows in a mart are not as many as when their leaf was made
    (a row deleted with nothing stamped in its place: an order gone, a shipment dropped)."""
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
            "select coalesce(now.order_id, kept.order_id) from ({counted}) as now full join ("
            " select order_id, status_rows, shipment_rows, event_rows"
            " from orderhub_meta.claim_leaves where marts_schema = {schema}) as kept"
            " on kept.order_id = now.order_id"
            " where (now.status_rows, now.shipment_rows, now.event_rows)"
            " is distinct from (kept.status_rows, kept.shipment_rows, kept.event_rows)"
        ).format(counted=_counted(marts, sql.SQL("true")), schema=sql.Literal(marts))
    )
    query = sql.SQL(" union ").join(parts)
    return [row[0] for row in conn.execute(query) if row[0] is not None]


def _store(
    conn: psycopg.Connection[Any],
    marts: str,
    leaves: Iterable[tuple[str, bytes]],
    orders: Sequence[str] | None,
) -> None:
    """Keep ``leaves`` (of ``orders``, or of every order) with each order's rows per mart:
    COPYed in sets of :data:`WRITE_ROWS` into a scratch table (made between the COPYs: the
    claims are read from server-side cursors of the same connection), then inserted with
    the counts in one statement."""
    conn.execute(
        "create temporary table if not exists claim_leaves_made"
        " (order_id text, content_hash bytea) on commit drop"
    )
    copy_sql = "copy claim_leaves_made (order_id, content_hash) from stdin"
    for chunk in _batched(leaves, WRITE_ROWS):
        with conn.cursor().copy(copy_sql) as copy:
            for row in chunk:
                copy.write_row(row)
    where = sql.SQL("true")
    if orders is not None:
        where = sql.SQL("order_id = any({})").format(sql.Literal(list(orders)))
    conn.execute(
        sql.SQL(
            "insert into orderhub_meta.claim_leaves (marts_schema, order_id, content_hash,"
            " status_rows, shipment_rows, event_rows)"
            " select {schema}, made.order_id, made.content_hash, now.status_rows,"
            " now.shipment_rows, now.event_rows"
            " from claim_leaves_made as made left join ({counted}) as now using (order_id)"
        ).format(schema=sql.Literal(marts), counted=_counted(marts, where))
    )
    conn.execute("truncate claim_leaves_made")


def _rewrite_all(conn: psycopg.Connection[Any], marts: str) -> None:
    conn.execute("delete from orderhub_meta.claim_leaves where marts_schema = %s", (marts,))
    claims = claims_in_order(conn, marts=marts)
    _store(conn, marts, ((c["order_id"], row_hash(c)) for c in claims), None)


def _rewrite(conn: psycopg.Connection[Any], marts: str, orders: Sequence[str]) -> None:
    conn.execute(
        "delete from orderhub_meta.claim_leaves where marts_schema = %s and order_id = any(%s)",
        (marts, list(orders)),
    )
    claims = order_claims(conn, orders, marts=marts)
    _store(conn, marts, ((order, row_hash(claim)) for order, claim in claims.items()), orders)


def _kept_tree(conn: psycopg.Connection[Any], marts: str) -> BatchTree:
    with conn.cursor(name="claim_leaves") as cursor:
        cursor.itersize = 20000
        cursor.execute(
            "select content_hash from orderhub_meta.claim_leaves where marts_schema = %s"
            ' order by order_id collate "C"',
            (marts,),
        )
        return BatchTree(bytes(row[0]) for row in cursor)


def _update(conn: psycopg.Connection[Any], marts: str) -> None:
    """Bring the kept leaves of ``marts`` up to its tables, and its mark (in the caller's
    repeatable-read transaction)."""
    tables, newest = _identity(conn, marts), _newest(conn, marts)
    kept = conn.execute(
        "select covered_through, tables, (select count(*) from orderhub_meta.claim_leaves"
        " where marts_schema = %s) from orderhub_meta.claim_leaf_marks where marts_schema = %s",
        (marts, marts),
    ).fetchone()
    changed = None if kept is None or kept[1] != tables else _changed_orders(conn, marts, kept[0])
    if changed is None or len(changed) > max(REWRITE_ALL_AT, kept[2] // 4):  # type: ignore[index]
        _rewrite_all(conn, marts)  # streamed: a mart rebuilt in place holds every claim
    else:
        _rewrite(conn, marts, changed)
    conn.execute(
        "insert into orderhub_meta.claim_leaf_marks (marts_schema, covered_through, tables)"
        " values (%s, %s, %s) on conflict (marts_schema) do update set"
        " covered_through = excluded.covered_through, tables = excluded.tables",
        (marts, newest, tables),
    )


def kept_claims_tree(url: str, marts: str) -> BatchTree:
    """The claims tree of the marts in ``marts``, from the kept leaves, made again for the
    orders changed since (see the module)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not _keepable(conn, marts):
            with conn.transaction():
                return claims_tree_of(conn, marts=marts)
        _ensure(conn)
        # one caller a schema at a time, waited for before the snapshot is taken
        lock = "select pg_advisory_{}lock(hashtext('orderhub_meta.claim_leaves'), hashtext(%s))"
        conn.execute(lock.format(""), (marts,))
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                _update(conn, marts)
                return _kept_tree(conn, marts)
        finally:
            conn.execute(lock.format("un"), (marts,))


__all__ = ["LEAF_RULE", "kept_claims_tree"]
