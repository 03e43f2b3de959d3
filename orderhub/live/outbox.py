"""The outbox: what the hot path changed, written in the transaction that changed it.

:func:`order_states` reads the touched orders' canonical status and open exceptions before
the marts are recomputed; :func:`write_outbox` compares them with what the marts hold after
and writes one ``orderhub_meta.outbox`` row per canonical status change
(``status_changed``) and per new exception (``exception_opened``), each with the partners
the order's shipments are routed to and its region (what subscriptions filter on), and
queues a delivery per matching subscription (:mod:`.subscriptions`).

The rows' ``change_id`` - the change feed's cursor - is assigned under one transaction-scoped
advisory lock taken last, just before the commit: transactions that write the outbox
commit one after the other in cursor order, and each reads the largest cursor committed
before it, so cursors are strictly increasing in commit order with no gap (a rolled-back
transaction assigned nothing anyone saw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from orderhub.live.subscriptions import queue_deliveries
from orderhub.live_tables import OUTBOX_LOCK

OrderState = tuple[str | None, frozenset[str]]

_STATES = """
select o.order_id, c.canonical_status,
    coalesce((select array_agg(e.exception_id) from marts.fct_order_exceptions as e
              where e.order_id = o.order_id), '{}')
from unnest(%s::text[]) as o(order_id)
left join marts.fct_order_current_status as c on c.order_id = o.order_id
"""

_STATUS_PAYLOAD = """
select c.order_id, c.canonical_status, c.region, jsonb_build_object(
        'order_id', c.order_id, 'canonical_status', c.canonical_status,
        'updated_at', c.updated_at, 'status_since', c.status_since,
        'status_node', c.status_node, 'status_source_system', c.status_source_system,
        'status_event_id', c.status_event_id, 'is_terminal', c.is_terminal),
    coalesce((select array_agg(distinct s.partner_id) from marts.fct_shipment_current_status s
              where s.order_id = c.order_id and s.partner_id is not null), '{}')
from marts.fct_order_current_status as c where c.order_id = any(%s::text[])
"""

_EXCEPTIONS = """
select e.exception_id, e.order_id, e.exception_type, jsonb_build_object(
        'exception_id', e.exception_id, 'order_id', e.order_id,
        'exception_type', e.exception_type, 'severity', e.severity,
        'detected_since', e.detected_since, 'systems', e.systems)
from marts.fct_order_exceptions as e where e.order_id = any(%s::text[])
"""


def order_states(conn: psycopg.Connection[Any], orders: Sequence[str]) -> dict[str, OrderState]:
    """Each order's canonical status and exception ids, as the marts hold them now."""
    return {
        order_id: (status, frozenset(exceptions))
        for order_id, status, exceptions in conn.execute(_STATES, (list(orders),))
    }


def write_outbox(
    conn: psycopg.Connection[Any], orders: Sequence[str], before: Mapping[str, OrderState]
) -> int:
    """Write the outbox rows of what changed since ``before``; how many."""
    rows: list[tuple[Any, ...]] = []
    partners: dict[str, tuple[list[str], str | None]] = {}
    for order_id, status, region, payload, partner_ids in conn.execute(
        _STATUS_PAYLOAD, (list(orders),)
    ):
        partners[order_id] = (list(partner_ids), region)
        previous = before.get(order_id, (None, frozenset()))[0]
        if status != previous:
            body = {"type": "order.status_changed", **payload, "previous_status": previous}
            rows.append((order_id, "status_changed", status, previous, None, body))
    for exception_id, order_id, exception_type, payload in conn.execute(
        _EXCEPTIONS, (list(orders),)
    ):
        if exception_id not in before.get(order_id, (None, frozenset()))[1]:
            body = {"type": "order.exception_opened", **payload}
            rows.append((order_id, "exception_opened", None, None, exception_type, body))
    if not rows:
        return 0
    rows.sort(key=lambda row: (row[0], row[1] != "status_changed"))
    conn.execute("select pg_advisory_xact_lock(%s)", (OUTBOX_LOCK,))
    (last,) = conn.execute(
        "select coalesce(max(change_id), 0) from orderhub_meta.outbox"
    ).fetchone() or (0,)
    with conn.cursor() as cur:
        cur.executemany(
            "insert into orderhub_meta.outbox (change_id, order_id, kind, canonical_status,"
            " previous_status, exception_type, partner_ids, region, payload)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (last + n, order_id, kind, status, previous, exception_type,
                 *partners.get(order_id, ([], None)), Jsonb({**body, "change_id": last + n}))
                for n, (order_id, kind, status, previous, exception_type, body)
                in enumerate(rows, start=1)
            ],
        )  # fmt: skip
    queue_deliveries(conn, last + 1, last + len(rows))
    return len(rows)
