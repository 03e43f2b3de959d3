"""What a build of the canonical model says about each order, read from the marts.

An order's *claim* (:func:`ledger.bundle.rollup.order_claim`) is its current status as
``marts.fct_order_current_status`` serves it (the deciding event, its node, since when),
its shipments' statuses (``marts.fct_shipment_current_status``) and the ids of all its
canonical events (``marts.fct_order_status_events``). After each build of the marts the
claims of all orders become one Merkle tree (:func:`claims_tree`, the leaf rule of
:mod:`ledger.bundle.tables`, ordered by order id); its root and size go into the build's
``dbt_build`` provenance event, so an audit bundle proves an order's claim against the
log, and ``orderhub audit verify`` re-derives it from the order's source records.
:func:`claims_tree_of` builds the same tree streaming the marts in order id order
(:func:`claims_in_order`), one order's rows at a time, so a build's memory does not grow
with its orders' claims. :func:`event_rows` reads an order's canonical events in the
bundle's row form;
:func:`claim_reads` are the three reads of one order's claim and events, sent with a
caller's others in one round trip (:func:`ledger.sessions.together`), and :func:`claim_from`
makes the claim from their answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

import psycopg
from psycopg import sql

from ledger.batches import BatchTree
from ledger.bundle.derive import EVENT_COLUMNS
from ledger.bundle.format import CLAIM_KEY
from ledger.bundle.rollup import SHIPMENT_FIELDS, order_claim
from ledger.bundle.tables import row_hash, table_tree
from ledger.bundle.values import iso_utc
from ledger.sessions import Read

EVENTS = "marts.fct_order_status_events"
ORDERS = "marts.fct_order_current_status"
SHIPMENTS = "marts.fct_shipment_current_status"
#: Rows of each mart read per round trip when every order's claim is streamed.
CLAIMS_PAGE = 5000
#: The status columns of fct_order_current_status a claim carries.
STATUS_COLUMNS = (
    "canonical_status", "status_event_id", "status_node", "status_shipment_id", "updated_at",
    "status_since", "status_since_event_id", "payment_state",
)  # fmt: skip


def _plain(value: Any) -> Any:
    """A value of a mart row as the bundle writes it (times as ISO 8601 UTC)."""
    return iso_utc(value) if isinstance(value, datetime) else value


def _query(
    relation: str, columns: Sequence[str], orders: Sequence[str] | None
) -> tuple[sql.Composed, tuple[Any, ...]]:
    where = sql.SQL("order_id is not null")
    params: tuple[Any, ...] = ()
    if orders is not None:
        where, params = sql.SQL("order_id = any(%s)"), (list(orders),)
    query = sql.SQL("select {} from {} where {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(relation), where
    )
    return query, params


def _rows(
    conn: psycopg.Connection[Any],
    relation: str,
    columns: Sequence[str],
    orders: Sequence[str] | None,
) -> list[dict[str, Any]]:
    with conn.cursor() as cursor:
        cursor.execute(*_query(relation, columns, orders))
        return [dict(zip(columns, map(_plain, row), strict=True)) for row in cursor]


def _by_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        rows, key=lambda r: (r["event_time"] is None, r["event_time"] or "", r["event_id"])
    )


def event_rows(conn: psycopg.Connection[Any], order_id: str) -> list[dict[str, Any]]:
    """The canonical events of ``order_id``, each as a bundle's event row."""
    return _by_time(_rows(conn, EVENTS, EVENT_COLUMNS, [order_id]))


def claim_reads(order_id: str) -> list[Read[list[dict[str, Any]]]]:
    """The three reads of an order's claim and events (its status, its shipments, its
    events, as :func:`order_claims` and :func:`event_rows` read them) as
    :class:`~ledger.sessions.Read` values, to send with others; their answers make the
    claim by :func:`claim_from`."""
    reads = (
        (ORDERS, ("order_id", *STATUS_COLUMNS)),
        (SHIPMENTS, ("order_id", *SHIPMENT_FIELDS)),
        (EVENTS, EVENT_COLUMNS),
    )
    return [
        Read(*_query(relation, columns, [order_id]), _as_rows(columns))
        for relation, columns in reads
    ]


def _as_rows(columns: Sequence[str]) -> Callable[[list[Any]], list[dict[str, Any]]]:
    return lambda rows: [dict(zip(columns, map(_plain, row), strict=True)) for row in rows]


def claim_from(
    order_id: str, answers: Sequence[list[dict[str, Any]]]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The claim of ``order_id`` (None when it has no canonical event) and its events in
    time order, from the answers of :func:`claim_reads`."""
    statuses, shipments, events = answers
    if not statuses and not events:
        return None, []
    status = statuses[0] if statuses else None
    claim = order_claim(order_id, status, shipments, [e["event_id"] for e in events])
    return claim, _by_time(events)


def _in(relation: str, marts: str) -> str:
    """``relation`` (``marts.<table>``) in the schema ``marts`` (a build's colour)."""
    return f'"{marts}".{relation.split(".", 1)[1]}'


def order_claims(
    conn: psycopg.Connection[Any], orders: Sequence[str] | None = None, *, marts: str = "marts"
) -> dict[str, dict[str, Any]]:
    """The claim of every order (or of ``orders``), by order id, read from the schema
    ``marts`` (the published marts, or a build's colour)."""
    statuses = {
        r["order_id"]: r
        for r in _rows(conn, _in(ORDERS, marts), ("order_id", *STATUS_COLUMNS), orders)
    }
    shipments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(conn, _in(SHIPMENTS, marts), ("order_id", *SHIPMENT_FIELDS), orders):
        shipments[row["order_id"]].append(row)
    events: dict[str, list[str]] = defaultdict(list)
    for row in _rows(conn, _in(EVENTS, marts), ("order_id", "event_id"), orders):
        events[row["order_id"]].append(row["event_id"])
    return {
        order: order_claim(order, statuses.get(order), shipments[order], events[order])
        for order in set(statuses) | set(events)
    }


def claims_tree(claims: dict[str, dict[str, Any]]) -> BatchTree:
    """The tree over the claims in leaf order (by order id, bytewise)."""
    return table_tree(claims.values(), CLAIM_KEY)


def _ordered(
    conn: psycopg.Connection[Any], name: str, query: sql.Composed, page: int
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` through a server-side cursor ``page`` rows at a time."""
    with conn.cursor(name=f"claims_{name}") as cursor:
        cursor.itersize = page
        cursor.execute(query)
        yield from cursor


def _groups(
    conn: psycopg.Connection[Any], relation: str, columns: Sequence[str], page: int
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The rows of ``relation`` grouped by order, in leaf order (order ids bytewise: the
    ``C`` collation), read ``page`` rows at a time."""
    query = sql.SQL('select {} from {} where order_id is not null order by order_id collate "C"')
    query = query.format(sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(relation))
    found = _ordered(conn, relation.rsplit(".", 1)[-1], query, page)
    rows = (dict(zip(columns, map(_plain, row), strict=True)) for row in found)
    for order, group in groupby(rows, key=itemgetter("order_id")):
        yield order, list(group)


def _event_ids(
    conn: psycopg.Connection[Any], relation: str, page: int
) -> Iterator[tuple[str, list[str]]]:
    """Each order's event ids, in leaf order, gathered by the warehouse: one row an order
    rather than one an event (about a twelfth of the rows to fetch and make into values at
    100k orders)."""
    query = sql.SQL(
        'select order_id collate "C", array_agg(event_id) from {}'
        " where order_id is not null group by 1 order by 1"
    ).format(sql.SQL(relation))
    return cast(Iterator[tuple[str, list[str]]], _ordered(conn, "event_ids", query, page))


def claims_in_order(
    conn: psycopg.Connection[Any], *, marts: str = "marts", page: int = CLAIMS_PAGE
) -> Iterator[dict[str, Any]]:
    """The claim of every order, in leaf order, as :func:`order_claims` reads them, holding
    one order's rows at a time (and ``page`` rows of each mart read ahead: of the events,
    ``page`` orders' ids): the three marts
    are read in order id order, side by side, in the caller's transaction."""
    statuses = _groups(conn, _in(ORDERS, marts), ("order_id", *STATUS_COLUMNS), page)
    shipments = _groups(conn, _in(SHIPMENTS, marts), ("order_id", *SHIPMENT_FIELDS), page)
    events = _event_ids(conn, _in(EVENTS, marts), page)
    status, shipment, event = next(statuses, None), next(shipments, None), next(events, None)
    while status is not None or event is not None:
        order = min(head[0] for head in (status, event) if head is not None)
        while shipment is not None and shipment[0] < order:
            shipment = next(shipments, None)
        row, rows, ids = None, [], []
        if status is not None and status[0] == order:
            row, status = status[1][0], next(statuses, None)
        if shipment is not None and shipment[0] == order:
            rows, shipment = shipment[1], next(shipments, None)
        if event is not None and event[0] == order:
            ids, event = event[1], next(events, None)
        yield order_claim(order, row, rows, ids)


def claims_tree_of(
    conn: psycopg.Connection[Any], *, marts: str = "marts", page: int = CLAIMS_PAGE
) -> BatchTree:
    """:func:`claims_tree` of every order's claim, streamed (:func:`claims_in_order`): the
    same tree, with only the leaves' hashes held, not the claims."""
    return BatchTree(row_hash(claim) for claim in claims_in_order(conn, marts=marts, page=page))


__all__ = [
    "claim_from",
    "claim_reads",
    "claims_in_order",
    "claims_tree",
    "claims_tree_of",
    "event_rows",
    "order_claims",
]
