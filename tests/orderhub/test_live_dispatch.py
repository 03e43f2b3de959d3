"""Out of the live path: each canonical status change and new exception is in the outbox and
the change feed (strictly increasing cursors, no gap, the row security of /orders), and is
delivered to each matching subscriber signed per Standard Webhooks, in order per order; a
failing subscriber is retried with backoff and blocks nobody, and is dead-lettered after
24 hours; an order a subscriber refuses holds back no other order; a job that fails leaves
no POST running behind it; /rpc/subscribe lets a partner subscribe to its own shipments
only."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from dbt_builds import database
from dbt_scenarios import unknown_batches
from hot_path_world import drain, push, versions
from subscriber import Subscriber

from orderhub.live import dispatch, outbox, subscriptions
from orderhub.live.dispatch import SHARD_OF, WAKE
from orderhub.live.dispatch_process import DispatcherProcess
from orderhub.live.webhook_post import Poster
from orderhub.recompute import CompiledModel

POOL = versions(unknown_batches())


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def world(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel]
) -> Iterator[tuple[str, Subscriber, Subscriber, Subscriber]]:
    good, failing, partner = Subscriber(), Subscriber(failing=True), Subscriber()
    with database(pg_server, template=hot_template) as url:
        with psycopg.connect(url) as conn:
            _, good.secret = subscriptions.add(conn, good.url)
            subscriptions.add(conn, failing.url)
            _, partner.secret = subscriptions.add(conn, partner.url, partner_id="UPS")
        for sub in (good, failing, partner):
            sub.start()
        push(url, [[version] for version in POOL])
        drain(url, hot_models)
        stop = threading.Event()
        dispatcher = threading.Thread(
            target=DispatcherProcess(url, concurrency=4).run, args=(stop,)
        )
        dispatcher.start()
        try:
            yield url, good, failing, partner
        finally:
            stop.set()
            dispatcher.join(timeout=15)
            for sub in (good, failing, partner):
                sub.stop()


def test_changes_are_delivered_signed_in_order_and_a_failing_subscriber_blocks_nobody(
    world: tuple[str, Subscriber, Subscriber, Subscriber],
) -> None:
    url, good, failing, partner = world
    changes = query(url, "select change_id, order_id, kind from orderhub_meta.outbox order by 1")
    assert changes, "the pushes changed statuses"
    assert [c[0] for c in changes] == list(range(1, len(changes) + 1))  # no gap
    assert {c[2] for c in changes} == {"status_changed", "exception_opened"}
    wait_for(lambda: len(good.received) == len(changes))
    assert good.bad_signatures == 0 and good.duplicates == 0
    assert sorted(r[0] for r in good.received) == sorted(f"msg_{c[0]}" for c in changes)
    for order in {c[1] for c in changes}:
        ids = [int(r[0][4:]) for r in good.received if r[1]["order_id"] == order]
        assert ids == sorted(ids), order  # per-order ordering
    # the partner's subscription got the changes of orders with a UPS shipment only
    ups = {r[0] for r in query(url, "select order_id from marts.fct_shipment_current_status"
                               " where partner_id = 'UPS'")}  # fmt: skip
    wait_for(lambda: {r[1]["order_id"] for r in partner.received} == ups)
    # the failing subscriber was tried, is retried later, and nothing is dead yet
    wait_for(lambda: failing.attempts >= 1)
    pending = query(
        url,
        "select count(*) filter (where d.attempts >= 1), count(*) filter (where d.dead_at"
        " is not null) from orderhub_meta.deliveries d join orderhub_meta.subscriptions s"
        " using (subscription_id) where s.url = %s",
        failing.url,
    )[0]
    assert pending[0] >= 1 and pending[1] == 0


def test_an_order_a_subscriber_refuses_holds_back_no_other_order(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel]
) -> None:
    """One job sends a subscription's shard of orders; an order the subscriber refuses is
    paused, and the other orders - those of its shard too - are delivered, including a
    change made while the job retrying the refused order waits an hour."""
    picky = Subscriber()
    with database(pg_server, template=hot_template) as url:
        with psycopg.connect(url) as conn:
            _, picky.secret = subscriptions.add(conn, picky.url)
        push(url, [[version] for version in POOL])
        drain(url, hot_models)
        shards = dict(query(url, f"select order_id, {SHARD_OF.format(order='order_id')}"
                                 " from orderhub_meta.outbox group by 1"))  # fmt: skip
        refused, neighbour = next(
            (a, b) for a in shards for b in shards if a != b and shards[a] == shards[b]
        )  # two orders of one shard
        picky.refuse = frozenset({refused})
        picky.start()
        stop = threading.Event()
        dispatcher = threading.Thread(
            target=DispatcherProcess(url, concurrency=4).run, args=(stop,)
        )
        dispatcher.start()
        try:
            others = {f"msg_{change}" for change, in query(
                url, "select change_id from orderhub_meta.outbox where order_id <> %s", refused
            )}  # fmt: skip
            wait_for(lambda: {r[0] for r in picky.received} >= others)
            tried = "select count(*) from orderhub_meta.deliveries where order_id = %s"
            wait_for(lambda: query(url, tried + " and attempts >= 1", refused)[0][0] >= 1)
            with psycopg.connect(url) as conn:  # the job retrying the refused order: in an hour
                conn.execute(
                    "update procrastinate_jobs set scheduled_at = now() + interval '1 hour'"
                    " where status = 'todo' and (attempts > 0 or task_name = %s)",
                    (WAKE,),
                )
                outbox.append(conn, [(neighbour, "status_changed", "delivered", None, None,
                                      [], None, {"order_id": neighbour})])  # fmt: skip
            (latest,) = query(url, "select max(change_id) from orderhub_meta.outbox")[0]
            wait_for(lambda: f"msg_{latest}" in {r[0] for r in picky.received})
            undelivered = tried + " and delivered_at is null and dead_at is null"
            assert query(url, undelivered, refused)[0][0] >= 1  # still owed, not given up
        finally:
            stop.set()
            dispatcher.join(timeout=15)
            picky.stop()


def test_a_delivery_failing_for_24_hours_is_dead_lettered(
    world: tuple[str, Subscriber, Subscriber, Subscriber],
) -> None:
    url, _, failing, _ = world
    wait_for(lambda: failing.attempts >= 1)
    with psycopg.connect(url) as conn:
        conn.execute(
            "update orderhub_meta.deliveries set first_attempt_at = now() - interval '25 hours'"
            " where first_attempt_at is not null"
        )
        conn.execute("update procrastinate_jobs set scheduled_at = now() where status = 'todo'")
    wait_for(lambda: query(url, "select count(*) from orderhub_meta.deliveries"
                                " where dead_at is not null")[0][0] >= 1)  # fmt: skip
    # the job ends failed once the task raised, just after it wrote dead_at
    failed = "select count(*) from procrastinate_jobs where status = 'failed'"
    wait_for(lambda: query(url, failed)[0][0] >= 1)


def test_the_change_feed_has_the_row_security_of_orders(
    world: tuple[str, Subscriber, Subscriber, Subscriber],
) -> None:
    url = world[0]
    with psycopg.connect(url) as conn:
        conn.execute("set role ops")
        everything = conn.execute("select change_id from api.order_changes order by 1").fetchall()
        conn.execute("reset role")
        conn.execute(
            'select set_config(\'request.jwt.claims\', \'{"role": "partner", "partner_id":'
            ' "UPS"}\', false)'
        )
        conn.execute("set role partner")
        mine = conn.execute("select distinct order_id from api.order_changes").fetchall()
        orders = conn.execute("select order_id from api.orders").fetchall()
    assert [r[0] for r in everything] == list(range(1, len(everything) + 1))
    assert mine and {r[0] for r in mine} <= {r[0] for r in orders}
    assert len(mine) < len({r[0] for r in query(url, "select order_id from orderhub_meta.outbox")})


def _subscribe(url: str, role: str, claims: str, partner: str | None) -> Any:
    with psycopg.connect(url) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, false)", (claims,))
        conn.execute(f"set role {role}")
        return conn.execute(
            "select api.subscribe('http://127.0.0.1:9/hook', partner_id => %s)", (partner,)
        ).fetchone()


def test_rpc_subscribe_limits_a_partner_to_its_own_shipments(
    world: tuple[str, Subscriber, Subscriber, Subscriber],
) -> None:
    url = world[0]
    claims = '{"role": "partner", "partner_id": "UPS"}'
    answer = _subscribe(url, "partner", claims, None)[0]
    assert answer["secret"].startswith("whsec_")
    kept = query(url, "select partner_id from orderhub_meta.subscriptions"
                      " where subscription_id = %s", answer["subscription_id"])  # fmt: skip
    assert kept == [("UPS",)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _subscribe(url, "partner", claims, "DHL")
    assert _subscribe(url, "analyst", '{"role": "analyst"}', "DHL")[0]["subscription_id"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _subscribe(url, "customer", '{"role": "customer", "customer_id": "C1"}', None)


def test_a_job_that_fails_leaves_no_post_running_behind(
    pg_server: str,
    hot_template: str,
    hot_models: list[CompiledModel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job's orders are sent side by side on the job's session; when one raises, the
    others stop before the job ends (the session goes back to the pool then)."""
    with database(pg_server, template=hot_template) as url:
        with psycopg.connect(url) as conn:
            sub, _ = subscriptions.add(conn, "http://127.0.0.1:9/never-reached")
        push(url, [[version] for version in POOL])
        drain(url, hot_models)
        shard_of = SHARD_OF.format(order="order_id")
        shard, failing = query(
            url,
            f"select {shard_of}, min(change_id) from orderhub_meta.deliveries"
            f" group by 1 having count(distinct order_id) > 1 order by 1 limit 1",
        )[0]
        running: list[int] = []
        finished_at: list[float] = []

        async def fake_post(client: Any, to: str, secret: str, change: int, body: Any) -> Any:
            if change == failing:
                await asyncio.sleep(0.05)  # the others are under way
                raise RuntimeError("a bug in one order's send")
            running.append(change)
            try:
                await asyncio.sleep(0.5)
            finally:
                running.remove(change)
                finished_at.append(time.monotonic())
            return datetime.now(UTC), None

        monkeypatch.setattr(dispatch, "post", fake_post)

        async def job() -> float:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                with pytest.raises(RuntimeError, match="one order's send"):
                    await dispatch.deliver(conn, Poster(), failing, sub, shard=shard)
                ended = time.monotonic()
                assert running == []  # nothing still sending once the job has failed
                await asyncio.sleep(0.6)
                return ended

        ended = asyncio.run(job())
        assert finished_at and max(finished_at) <= ended
