"""The claims tree a ``dbt_build`` event logs, streamed from the marts a page at a time, is
the tree of every order's claim read whole (``orderhub.claims.order_claims``): the same
leaves in the same order, whatever the page size, with order ids that sort differently
bytewise than in a language's collation, orders with events but no status, shipments of
orders nobody else names, and rows without an order."""

from __future__ import annotations

import psycopg
import pytest

from ledger.bundle.format import CLAIM_KEY
from ledger.bundle.tables import key_bytes
from orchestration.derived_state import derived_state
from orderhub.claims import claims_in_order, claims_tree, claims_tree_of, order_claims

MARTS = """
create schema marts;
create table marts.fct_order_current_status (
    order_id text, canonical_status text, status_event_id text, status_node text,
    status_shipment_id text, updated_at timestamptz, status_since timestamptz,
    status_since_event_id text, payment_state text);
create table marts.fct_shipment_current_status (
    order_id text, shipment_id text, direction text, canonical_status text,
    status_event_id text, status_node text, updated_at timestamptz, status_since timestamptz);
create table marts.fct_order_status_events (order_id text, event_id text, crosswalk_version text);
create table marts.dim_status_crosswalk_versions (crosswalk_version text);
insert into marts.dim_status_crosswalk_versions values ('v1');
"""
#: Order ids whose bytewise order ("Z" < "a" < "Ä") is not a language collation's.
ORDERS = ["1000002", "1000010", "Zeta", "alpha", "Ärger", "SO-1", "so-1", "1000001"]


def _fill(conn: psycopg.Connection) -> None:
    conn.execute(MARTS)
    for n, order in enumerate(ORDERS):
        if order != "alpha":  # alpha has events but no status row
            conn.execute(
                "insert into marts.fct_order_current_status values"
                " (%s, 'delivered', %s, 'tms', %s, '2026-10-01Z', '2026-09-30Z', %s, 'paid')",
                (order, f"e{n}-2", f"s{n}", f"e{n}-1"),
            )
        for k in range(n % 3):
            conn.execute(
                "insert into marts.fct_shipment_current_status values"
                " (%s, %s, 'outbound', 'in_transit', %s, 'tms', '2026-10-01Z', '2026-09-30Z')",
                (order, f"s{n}-{k}", f"e{n}-{k}"),
            )
        if order != "SO-1":  # SO-1 has a status row but no events
            for k in range(3):
                conn.execute(
                    "insert into marts.fct_order_status_events values (%s, %s, 'v1')",
                    (order, f"e{n}-{k}"),
                )
    conn.execute(
        "insert into marts.fct_shipment_current_status (order_id, shipment_id) values"
        " ('nobody', 's-x'), (null, 's-y')"
    )
    conn.execute("insert into marts.fct_order_status_events values (null, 'e-null', 'v1')")


@pytest.mark.parametrize("page", [1, 2, 5000])
def test_the_streamed_claims_tree_is_the_whole_one(db_url: str, page: int) -> None:
    with psycopg.connect(db_url) as conn:
        _fill(conn)
        conn.commit()
        whole = order_claims(conn)
        streamed = list(claims_in_order(conn, page=page))
        tree = claims_tree_of(conn, page=page)
    assert [c["order_id"] for c in streamed] == sorted(
        whole, key=lambda order: key_bytes({"order_id": order}, CLAIM_KEY)
    )
    assert {c["order_id"]: c for c in streamed} == whole
    expected = claims_tree(whole)
    assert tree.size == expected.size == len(ORDERS)
    assert tree.root() == expected.root()
    assert tree.levels[0] == expected.levels[0]


def test_a_build_logs_the_streamed_tree(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _fill(conn)
        conn.commit()
        expected = claims_tree(order_claims(conn))
    state = derived_state(db_url, claims=True)
    assert state.fields["claims_root"] == expected.root().hex()
    assert state.fields["claims_size"] == len(ORDERS) and state.tree is not None
