"""The dispatcher: deliver the outbox to subscribers, signed per Standard Webhooks.

Delivery runs on procrastinate, a PostgreSQL job queue: the hot path queues, in the
outbox's own transaction, a job for each subscription and shard of orders
(:data:`orderhub.live_tables.SHARDS`)
it changed that has no job waiting yet (:func:`queue_jobs` calls procrastinate's
``procrastinate_defer_jobs_v1``), so a change is never committed without its delivery job
nor the reverse. Each job carries the lock ``<subscription>/<shard>``: procrastinate runs
no job while an earlier one with its lock waits or runs. A job sends every pending
delivery of its subscription and shard, each order's in cursor order (:func:`deliver`), so
one subscriber receives one order's changes in order, even across retries, and a shard's
backlog goes in one job: the queue holds at most one waiting job per subscription and
shard, and the worker's look for a job it may run does not grow with the backlog. Other
orders and other subscribers go on meanwhile (a failing subscriber blocks nobody else).
LISTEN/NOTIFY wakes the worker at commit; it also looks every :data:`POLL`.

:func:`post` sends an outbox row's payload with the headers ``webhook-id`` (``msg_`` and the
change's cursor: the same on every retry, the receiver dedupes on it),
``webhook-timestamp`` and ``webhook-signature`` (the ``standardwebhooks`` package, under the
subscription's ``whsec_`` secret). A 2xx marks the delivery delivered; anything else
pauses its order (``next_attempt_at``, :func:`pause`: exponential from 1 s, capped at 1 h,
with full jitter; the shard's jobs pass the order over meanwhile) and queues a job that
ends the pause (:func:`wake`), until :data:`GIVE_UP_AFTER` (24 h) after the first attempt,
when the delivery is marked dead (``dead_at``: the dead-letter list) and its job fails.
At-least-once: a worker killed after the POST and before the mark posts again; the
receiver's dedupe makes it once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from orderhub.live.webhook_post import Poster, post
from orderhub.live_tables import SHARD_OF

LOGGER = logging.getLogger("orderhub.live.dispatch")
QUEUE = "orderhub_webhooks"
TASK = "orderhub.live.deliver"
WAKE = "orderhub.live.wake"
#: A delivery is retried until this long after its first attempt, then dead-lettered.
GIVE_UP_AFTER = timedelta(hours=24)
#: Backoff: first pause, longest pause (seconds); each pause is drawn in [0, bound].
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 3600.0
#: Seconds between the worker's looks for jobs it may run when no NOTIFY woke it: a job
#: waiting behind its order's running job, or a retry come due (bench/RESULTS.md, "Live
#: path": at 1 s, an order's next change waited up to a second behind its previous one).
POLL = 0.1


def queue_jobs(conn: psycopg.Connection[Any], queued: Sequence[tuple[int, int, str]]) -> int:
    """Queue, in the open transaction, a delivery job for each subscription and shard of
    orders among the new deliveries ``queued`` (change_id, subscription_id, order_id) that
    has none waiting yet; how many. The job delivers every pending delivery of its
    subscription and shard (:func:`deliver`), so a waiting one takes the new ones along.
    The waiting jobs found are locked until the commit (the worker skips locked jobs), so
    none starts before this transaction's deliveries are visible to it; the caller holds
    the outbox lock, so no other transaction queues for the same shard meanwhile. (No
    queueing lock: procrastinate's retry of a running job would then collide with the job
    waiting behind it; two waiting jobs of one shard are harmless, the later finds
    nothing to send.)"""
    if not queued:
        return 0
    first = {
        f"{sub}/{shard}": change_id
        for sub, shard, change_id in conn.execute(
            f"select q.sub, {SHARD_OF.format(order='q.order_id')}, min(q.change_id)"
            " from unnest(%s::bigint[], %s::bigint[], %s::text[]) as q(change_id, sub, order_id)"
            " group by 1, 2 order by 3",
            ([q[0] for q in queued], [q[1] for q in queued], [q[2] for q in queued]),
        )
    }
    waiting = {
        row[0]
        for row in conn.execute(
            "select lock from procrastinate_jobs where status = 'todo'"
            " and lock = any(%s) order by id for update",
            (list(first),),
        )
    }
    jobs = [(lock, change_id) for lock, change_id in first.items() if lock not in waiting]
    if jobs:
        conn.execute(_DEFER, ([lock for lock, _ in jobs], [change_id for _, change_id in jobs]))
    return len(jobs)


_DEFER = f"""
select procrastinate_defer_jobs_v1(array(
    select row('{QUEUE}', '{TASK}', 0, j.lock, null, jsonb_build_object(
        'change_id', j.change_id,
        'subscription_id', split_part(j.lock, '/', 1)::bigint,
        'shard', split_part(j.lock, '/', 2)::int
    ), null)::procrastinate_job_to_defer_v1
    from unnest(%s::text[], %s::bigint[]) as j(lock, change_id)
    order by j.change_id
))
"""


class Dead(Exception):
    """The delivery was tried for :data:`GIVE_UP_AFTER`: no more retries."""


def pause(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` tries: exponential, full jitter."""
    return random.uniform(0, min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** min(attempts, 20)))


class Backoff(BaseRetryStrategy):
    """A job that failed (not a refused delivery: :func:`deliver`) is retried after
    :func:`pause`; none once a delivery is dead."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, Dead):
            return None
        return RetryDecision(retry_in={"seconds": pause(job.attempts)})


_SUBSCRIBER = "select url, secret from orderhub_meta.subscriptions where subscription_id = %s"
_PENDING = """
select d.order_id, d.change_id, o.payload::text, d.first_attempt_at, o.created_at, d.attempts
from orderhub_meta.deliveries as d join orderhub_meta.outbox as o using (change_id)
where d.subscription_id = %s and {where}
  and d.delivered_at is null and d.dead_at is null
  and not exists (select from orderhub_meta.deliveries as b where b.subscription_id =
      d.subscription_id and b.order_id = d.order_id and b.delivered_at is null
      and b.dead_at is null and b.next_attempt_at > now())
order by d.order_id, d.change_id
"""
_OF_ORDER = _PENDING.format(where="d.order_id = %s")
_OF_SHARD = _PENDING.format(where=SHARD_OF.format(order="d.order_id") + " = %s")
#: Orders of one job whose deliveries are sent side by side.
ORDERS_AT_ONCE = 16
_MARK = """
update orderhub_meta.deliveries set attempts = attempts + 1,
    first_attempt_at = coalesce(first_attempt_at, %s), last_error = %s,
    delivered_at = case when %s then %s end, dead_at = case when %s then %s end
where change_id = %s and subscription_id = %s
"""
#: The deliveries a job delivered, marked together when its orders are sent (a worker
#: killed before the mark posts them again, as after any POST: at-least-once).
_DELIVERED = """
update orderhub_meta.deliveries as d set attempts = d.attempts + 1,
    first_attempt_at = coalesce(d.first_attempt_at, m.sent_at), last_error = null,
    delivered_at = m.sent_at
from unnest(%s::bigint[], %s::timestamptz[]) as m(change_id, sent_at)
where d.change_id = m.change_id and d.subscription_id = %s
"""
#: A refused delivery: marked, its order paused until ``next_attempt_at``, and a job that
#: wakes the order then (:func:`wake`) - one statement, so no pause is left without it.
_REFUSED = f"""
with marked as (
    update orderhub_meta.deliveries set attempts = attempts + 1,
        first_attempt_at = coalesce(first_attempt_at, %(now)s), last_error = %(error)s,
        next_attempt_at = %(now)s + make_interval(secs => %(pause)s)
    where change_id = %(change)s and subscription_id = %(sub)s returning order_id)
select procrastinate_defer_jobs_v1(array(
    select row('{QUEUE}', '{WAKE}', 0, null, null, jsonb_build_object(
        'subscription_id', %(sub)s::bigint, 'order_id', order_id),
        %(now)s + make_interval(secs => %(pause)s))::procrastinate_job_to_defer_v1
    from marked))
"""


async def deliver(
    conn: psycopg.AsyncConnection[Any],
    client: Poster,
    change_id: int,
    sub: int,
    order_id: str | None = None,
    timings: dict[str, float] | None = None,
    shard: int | None = None,
) -> int:
    """Send every pending delivery of subscription ``sub`` and shard ``shard`` (or, for a
    job queued before the shards, of the order ``order_id`` or of ``change_id``); each
    order's in cursor order, up to :data:`ORDERS_AT_ONCE` orders side by side (when one
    raises, the others are cancelled and waited for before the job fails); mark each;
    how many were delivered. An order stops at its first refused delivery, which pauses the
    order (:data:`_REFUSED`: its later changes wait, the shard's other orders do not; the
    job :func:`wake` ends the pause); an order in its pause is passed over. One refused for
    :data:`GIVE_UP_AFTER` is dead-lettered and its order's rest still go (then
    :class:`Dead`: the job fails). ``timings`` adds up where a first attempt's time went
    (:data:`TIMINGS`) and counts the refused (``refused``)."""
    started, clock = datetime.now(UTC), time.perf_counter()
    if shard is None and order_id is None:
        found = await (await conn.execute(
            "select order_id from orderhub_meta.deliveries"
            " where change_id = %s and subscription_id = %s", (change_id, sub),
        )).fetchone()  # fmt: skip
        if found is None:
            return 0
        order_id = found[0]
    subscriber = await (await conn.execute(_SUBSCRIBER, (sub,))).fetchone()
    if subscriber is None:
        return 0  # the subscription is gone
    query, key = (_OF_SHARD, shard) if shard is not None else (_OF_ORDER, order_id)
    orders: dict[str, list[tuple[Any, ...]]] = {}
    for row in await (await conn.execute(query, (sub, key))).fetchall():
        orders.setdefault(row[0], []).append(row[1:])
    gate = asyncio.Semaphore(ORDERS_AT_ONCE)
    sent: list[tuple[int, datetime]] = []

    async def one(pending: list[tuple[Any, ...]]) -> tuple[int, list[int], str | None]:
        async with gate:
            return await _send_order(conn, client, subscriber, sub, pending, (started, clock),
                                     timings, sent)  # fmt: skip

    tasks = [asyncio.ensure_future(one(pending)) for pending in orders.values()]
    try:
        results = await asyncio.gather(*tasks)
    except BaseException:
        # the others stop before the job ends: none goes on with the job's session after
        # it went back to the pool (a POST cut short is sent again: the receiver dedupes)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        if sent:
            await conn.execute(_DELIVERED, ([c for c, _ in sent], [at for _, at in sent], sub))
    dead = [change for _, gone, _ in results for change in gone]
    if timings is not None:
        timings["refused"] = timings.get("refused", 0) + sum(1 for r in results if r[2])
    if dead:
        raise Dead(f"{subscriber[0]}: changes {dead} given up after {GIVE_UP_AFTER}")
    return sum(sent for sent, _, _ in results)


async def _send_order(
    conn: psycopg.AsyncConnection[Any],
    client: Poster,
    subscriber: tuple[str, str],
    sub: int,
    pending: list[tuple[Any, ...]],
    start: tuple[datetime, float],
    timings: dict[str, float] | None,
    sent: list[tuple[int, datetime]],
) -> tuple[int, list[int], str | None]:
    """Send one order's pending deliveries in cursor order; the delivered go to ``sent``
    (:data:`_DELIVERED` marks them), a refused or dead one is marked at once; how many were
    delivered, the ones dead-lettered, and the error that stopped it (None: none did)."""
    url, secret = subscriber
    dead, delivered = [], 0
    for pending_id, payload, first, created, attempts in pending:
        if timings is not None and first is None:
            _add(timings, "to_job", (start[0] - created).total_seconds())
            _add(timings, "in_job", time.perf_counter() - start[1])
        now, error = await post(client, url, secret, pending_id, payload)
        if error is None:
            sent.append((pending_id, now))
            delivered += 1
            continue
        gone = first is not None and now - first >= GIVE_UP_AFTER
        if not gone:
            await conn.execute(_REFUSED, {
                "now": now, "error": error, "pause": pause(attempts), "change": pending_id,
                "sub": sub,
            })  # fmt: skip
            return delivered, dead, error
        await conn.execute(_MARK, (now, error, False, now, True, now, pending_id, sub))
        dead.append(pending_id)
    return delivered, dead, None


async def wake(conn: psycopg.AsyncConnection[Any], sub: int, order_id: str) -> None:
    """End the pause of ``order_id``'s deliveries to ``sub`` and queue a job for its shard
    unless one waits (locked until the commit, as :func:`queue_jobs` does: none starts
    without seeing the order due)."""
    async with conn.transaction():
        await conn.execute(
            "update orderhub_meta.deliveries set next_attempt_at = now()"
            " where subscription_id = %s and order_id = %s and delivered_at is null"
            " and dead_at is null and next_attempt_at > now()",
            (sub, order_id),
        )
        row = await (await conn.execute(
            f"select %s || '/' || {SHARD_OF.format(order='%s')}", (sub, order_id)
        )).fetchone()  # fmt: skip
        lock = str(row[0]) if row else ""
        waiting = await (await conn.execute(
            "select 1 from procrastinate_jobs where status = 'todo' and lock = %s for update",
            (lock,),
        )).fetchall()  # fmt: skip
        if not waiting:
            await conn.execute(_DEFER, ([lock], [0]))


#: Where a delivery's first attempt spent its time inside the dispatcher, each a sum of
#: seconds with its count (``<name>_n``) in :attr:`Dispatcher.counters` (``/metrics``):
#: ``to_job``, from its outbox row to the start of the job that sends it (the job waiting
#: to be fetched, or behind its order's running job); ``in_job``, from the job's start to
#: its POST (the earlier deliveries of its order sent first); ``fetch``, procrastinate's
#: look for a runnable job (one at a time per worker).
TIMINGS = ("to_job", "in_job", "fetch")


def _add(timings: dict[str, float], name: str, seconds: float) -> None:
    timings[name] = timings.get(name, 0.0) + seconds
    timings[f"{name}_n"] = timings.get(f"{name}_n", 0) + 1


class Dispatcher:
    """A procrastinate worker delivering the outbox, in a thread of its own."""

    def __init__(self, database_url: str, concurrency: int = 32) -> None:
        self.database_url = database_url
        self.concurrency = concurrency
        self.counters: dict[str, float] = {"delivered": 0, "failed": 0}

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set (a crash is logged and the worker starts again)."""
        while not stop.is_set():
            try:
                asyncio.run(self._main(stop))
            except Exception:
                LOGGER.exception("the dispatcher stopped; starting it again")
                stop.wait(1.0)

    async def _main(self, stop: threading.Event) -> None:
        app = App(connector=PsycopgConnector(conninfo=self.database_url))
        fetch = app.job_manager.fetch_job

        async def timed_fetch(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fetch(*args, **kwargs)
            finally:
                _add(self.counters, "fetch", time.perf_counter() - started)

        app.job_manager.fetch_job = timed_fetch  # type: ignore[method-assign]
        conns: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for _ in range(self.concurrency):
            conns.put_nowait(
                await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
            )
        client = Poster()
        try:

            @app.task(name=TASK, queue=QUEUE, retry=Backoff())
            async def task(
                change_id: int,
                subscription_id: int,
                order_id: str | None = None,
                shard: int | None = None,
            ) -> None:
                conn = await conns.get()
                try:
                    sent = await deliver(
                        conn, client, change_id, subscription_id, order_id, self.counters, shard
                    )
                    self.counters["delivered"] += sent
                except Exception:
                    self.counters["failed"] += 1
                    raise
                finally:
                    conns.put_nowait(conn)

            @app.task(name=WAKE, queue=QUEUE, retry=Backoff())
            async def woken(subscription_id: int, order_id: str) -> None:
                conn = await conns.get()
                try:
                    await wake(conn, subscription_id, order_id)
                finally:
                    conns.put_nowait(conn)

            async with app.open_async():
                worker = asyncio.create_task(
                    app.run_worker_async(
                        queues=[QUEUE],
                        concurrency=self.concurrency,
                        install_signal_handlers=False,
                        fetch_job_polling_interval=POLL,
                        delete_jobs="successful",
                    )
                )
                while not stop.is_set() and not worker.done():
                    await asyncio.sleep(0.1)
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
        finally:
            await client.aclose()
        while not conns.empty():
            await conns.get_nowait().close()
