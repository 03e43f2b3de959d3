"""The kept claims tree (``orderhub.claim_leaves``) is the tree of every order's claim read
whole (``orderhub.claims.claims_tree_of``) after every kind of change a build makes to the
three marts: a status rebuilt, an event moved to another order, an order gone, an order
new, a table replaced; and it reads only the changed orders' claims."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from ledger.bundle.rollup import order_claim
from ledger.bundle.tables import row_hash
from orderhub import claim_leaves
from orderhub.claim_leaves import LEAF_RULE, kept_claims_tree
from orderhub.claims import claims_tree_of

MARTS = """
create schema marts;
create table marts.fct_order_current_status (
    order_id text primary key, canonical_status text, status_event_id text,
    status_node text, status_shipment_id text, updated_at timestamptz,
    status_since timestamptz, status_since_event_id text, payment_state text,
    built_at timestamptz);
create table marts.fct_shipment_current_status (
    order_id text, shipment_id text, direction text, canonical_status text,
    status_event_id text, status_node text, updated_at timestamptz, status_since timestamptz,
    built_at timestamptz);
create table marts.fct_order_status_events (
    order_id text, event_id text, previous_order_ids jsonb, built_at timestamptz);
"""
#: Order ids whose bytewise order ("Z" < "a" < "Ä") is not a language collation's.
ORDERS = ["1000002", "1000010", "Zeta", "alpha", "Ärger", "SO-1", "so-1", "1000001"]
FIRST = "2026-10-01T00:00:00Z"


def _status(conn: psycopg.Connection, order: str, status: str, stamp: str) -> None:
    conn.execute(
        "insert into marts.fct_order_current_status values (%s, %s, %s, 'tms', null,"
        " '2026-10-01Z', '2026-09-30Z', null, 'paid', %s) on conflict (order_id) do update"
        " set canonical_status = excluded.canonical_status, built_at = excluded.built_at",
        (order, status, f"{order}-e1", stamp),
    )


def _fill(conn: psycopg.Connection, schema: str = "marts") -> None:
    conn.execute(MARTS)
    if schema != "marts":
        conn.execute(f"alter schema marts rename to {schema}")
        conn.execute(MARTS)
    for n, order in enumerate(ORDERS):
        if order != "alpha":  # alpha has events but no status row
            _status(conn, order, "delivered", FIRST)
        for k in range(n % 3):
            conn.execute(
                "insert into marts.fct_shipment_current_status values (%s, %s, 'outbound',"
                " 'in_transit', null, 'tms', '2026-10-01Z', '2026-09-30Z', %s)",
                (order, f"s{n}-{k}", FIRST),
            )
        if order != "SO-1":  # SO-1 has a status row but no events
            for k in range(3):
                conn.execute(
                    "insert into marts.fct_order_status_events values (%s, %s, '[]', %s)",
                    (order, f"{order}-e{k}", FIRST),
                )


@pytest.fixture
def marts(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        _fill(conn)
        yield conn


def _same_as_whole(conn: psycopg.Connection, db_url: str, schema: str = "marts") -> None:
    kept = kept_claims_tree(db_url, schema)
    with conn.transaction():
        whole = claims_tree_of(conn, marts=schema)
    assert (kept.size, kept.root()) == (whole.size, whole.root())
    assert kept.levels[0] == whole.levels[0]


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The orders each call of the kept tree reads the claims of again."""
    seen: list[list[str]] = []
    original = claim_leaves.order_claims

    def spy(conn, orders, *, marts):  # type: ignore[no-untyped-def]
        seen.append(sorted(orders))
        return original(conn, orders, marts=marts)

    monkeypatch.setattr(claim_leaves, "order_claims", spy)
    return seen


def test_the_first_tree_reads_every_order_and_the_next_none(
    marts: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_whole(marts, db_url)
    reads = _reads(monkeypatch)
    _same_as_whole(marts, db_url)
    assert reads == [[]]
    kept = marts.execute(
        "select count(*) from orderhub_meta.claim_leaves where status_rows is not null"
    ).fetchone()
    assert kept is not None and kept[0] == len(ORDERS)


def test_a_rebuilt_status_a_moved_event_a_gone_and_a_new_order(
    marts: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_whole(marts, db_url)
    later = "2026-10-02T00:00:00Z"
    _status(marts, "Zeta", "returned", later)
    # an event of 1000010 re-derived onto so-1: 1000010's own rows keep their stamp
    marts.execute(
        "update marts.fct_order_status_events set order_id = 'so-1',"
        " previous_order_ids = '[\"1000010\"]', built_at = %s where event_id = '1000010-e0'",
        (later,),
    )
    # every row of Ärger gone, stamps and all (an order no build derives any more)
    for table in ("fct_order_current_status", "fct_shipment_current_status"):
        marts.execute(f"delete from marts.{table} where order_id = 'Ärger'")
    marts.execute("delete from marts.fct_order_status_events where order_id = 'Ärger'")
    marts.execute(
        "insert into marts.fct_order_status_events values ('new-1', 'new-1-e0', '[]', %s)",
        (later,),
    )
    reads = _reads(monkeypatch)
    _same_as_whole(marts, db_url)
    assert reads == [["1000010", "Zeta", "new-1", "so-1", "Ärger"]]
    gone = marts.execute(
        "select count(*) from orderhub_meta.claim_leaves where order_id = 'Ärger'"
    ).fetchone()
    assert gone is not None and gone[0] == 0


def test_rows_deleted_with_nothing_stamped_in_their_place(
    marts: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mart rebuilt on its own drops a shipment (1000010's only one) and a status row
    (Zeta's, its events stay): neither order has a row stamped after the mark."""
    _same_as_whole(marts, db_url)
    marts.execute("delete from marts.fct_shipment_current_status where order_id = '1000010'")
    marts.execute("delete from marts.fct_order_current_status where order_id = 'Zeta'")
    reads = _reads(monkeypatch)
    _same_as_whole(marts, db_url)
    assert reads == [["1000010", "Zeta"]]


def test_two_colours_keep_their_own_leaves(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        _fill(conn, "marts_blue")
        _same_as_whole(conn, db_url, "marts_blue")
        _same_as_whole(conn, db_url, "marts")
        conn.execute("delete from marts.fct_order_status_events where order_id = '1000002'")
        _same_as_whole(conn, db_url, "marts")
        _same_as_whole(conn, db_url, "marts_blue")


def test_callers_at_once_wait_for_each_other(marts: psycopg.Connection, db_url: str) -> None:
    _same_as_whole(marts, db_url)
    _status(marts, "Zeta", "returned", "2026-10-02T00:00:00Z")
    with ThreadPoolExecutor(4) as pool:
        trees = list(pool.map(lambda _: kept_claims_tree(db_url, "marts"), range(4)))
    with marts.transaction():
        whole = claims_tree_of(marts)
    assert {tree.root() for tree in trees} == {whole.root()}


def test_a_mart_rewritten_in_place_is_streamed_again(
    marts: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_whole(marts, db_url)
    monkeypatch.setattr(claim_leaves, "REWRITE_ALL_AT", 2)
    marts.execute(
        "update marts.fct_order_status_events set built_at = '2026-10-02Z',"
        " event_id = event_id || '-again'"
    )
    reads = _reads(monkeypatch)
    _same_as_whole(marts, db_url)
    assert reads == []  # more than a quarter of the orders changed: every claim, streamed


def test_a_replaced_table_reads_every_order_again(
    marts: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_whole(marts, db_url)
    # the same stamps in a new table (as a --full-refresh could leave them), other content
    marts.execute(
        "create table marts.replacement as select * from marts.fct_shipment_current_status;"
        " update marts.replacement set canonical_status = 'delivered';"
        " drop table marts.fct_shipment_current_status;"
        " alter table marts.replacement rename to fct_shipment_current_status"
    )
    reads = _reads(monkeypatch)
    _same_as_whole(marts, db_url)
    assert reads == []  # not the changed orders: every claim, streamed


def test_marts_without_stamps_are_read_whole_and_nothing_is_kept(
    marts: psycopg.Connection, db_url: str
) -> None:
    marts.execute("alter table marts.fct_order_status_events drop column built_at")
    _same_as_whole(marts, db_url)
    kept = marts.execute("select to_regclass('orderhub_meta.claim_leaves')").fetchone()
    assert kept is not None and kept[0] is None


def test_the_leaf_rule_is_pinned() -> None:
    """A claim's leaf as the kept leaves were made: if this changes, so must LEAF_RULE, or
    the leaves kept before would be mixed with leaves made by the new rule."""
    claim = order_claim(
        "SO-1",
        {"canonical_status": "delivered", "status_event_id": "e2", "updated_at": FIRST},
        [{"shipment_id": "s1", "direction": "outbound", "canonical_status": "delivered"}],
        ["e2", "e1"],
    )
    assert (LEAF_RULE, row_hash(claim).hex()) == (
        "order-claim-1",
        "569923835c84b96d0234a14e9b42bfa2656cc41eeb019e5522ff6d5ea4523512",
    )
