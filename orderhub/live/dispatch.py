"""The dispatcher: deliver the outbox to subscribers, signed per Standard Webhooks.

Delivery runs on procrastinate, a PostgreSQL job queue: the hot path queues, in the
outbox's own transaction, a job for each subscription and shard of orders (:data:`SHARDS`)
it changed that has no job waiting yet (:func:`queue_jobs` calls procrastinate's
``procrastinate_defer_jobs_v1``), so a change is never committed without its delivery job
nor the reverse. Each job carries the lock ``<subscription>/<shard>``: procrastinate runs
no job while an earlier one with its lock waits or runs. A job sends every pending
delivery of its subscription and shard, each order's in cursor order (:func:`deliver`), so
one subscriber receives one order's changes in order, even across retries, and a shard's
backlog goes in one job: the queue holds at most one waiting job per subscription and
shard, and the worker's look for a job it may run does not grow with the backlog. Other
shards and other subscribers go on meanwhile (a failing subscriber blocks nobody else; an
order a subscriber refuses holds back its shard's later changes until the retry).
LISTEN/NOTIFY wakes the worker at commit; it also looks
every :data:`POLL`.

:func:`post` sends an outbox row's payload with the headers ``webhook-id`` (``msg_`` and the
change's cursor: the same on every retry, the receiver dedupes on it),
``webhook-timestamp`` and ``webhook-signature`` (the ``standardwebhooks`` package, under the
subscription's ``whsec_`` secret). A 2xx marks the delivery delivered; anything else is
retried by :class:`Backoff` - exponential from 1 s, capped at 1 h, with full jitter - until
:data:`GIVE_UP_AFTER` (24 h) after the first attempt, when the delivery is marked dead
(``dead_at``: the dead-letter list) and its job fails. At-least-once: a worker killed after
the POST and before the mark posts again; the receiver's dedupe makes it once.
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

import httpx
import orjson
import psycopg
from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from standardwebhooks import Webhook

LOGGER = logging.getLogger("orderhub.live.dispatch")
QUEUE = "orderhub_webhooks"
TASK = "orderhub.live.deliver"
#: A delivery is retried until this long after its first attempt, then dead-lettered.
GIVE_UP_AFTER = timedelta(hours=24)
#: Backoff: first pause, longest pause (seconds); each pause is drawn in [0, bound].
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 3600.0
#: Seconds a subscriber has to answer.
TIMEOUT = 5.0
#: Seconds between the worker's looks for jobs it may run when no NOTIFY woke it: a job
#: waiting behind its order's running job, or a retry come due (bench/RESULTS.md, "Live
#: path": at 1 s, an order's next change waited up to a second behind its previous one).
POLL = 0.1


#: Delivery jobs run per subscription and shard of orders: an order's shard is
#: ``hashtext(order_id) & (SHARDS - 1)`` (:data:`SHARD_OF`), a job's lock
#: ``<subscription>/<shard>``. Fewer, larger jobs than one per order: procrastinate's
#: worker fetches one job per query (17-25 ms under load), so at ~190 changes/s one job per
#: order and change waited seconds to be fetched (docs/live.md, "The dispatcher").
SHARDS = 16
SHARD_OF = f"(hashtext({{order}}) & {SHARDS - 1})"


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


class Undeliverable(Exception):
    """The subscriber refused the delivery (or did not answer)."""


class Dead(Exception):
    """The delivery was tried for :data:`GIVE_UP_AFTER`: no more retries."""


class Backoff(BaseRetryStrategy):
    """Exponential backoff with full jitter; none once the delivery is dead."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, Dead):
            return None
        bound = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** min(job.attempts, 20))
        return RetryDecision(retry_in={"seconds": random.uniform(0, bound)})


_SUBSCRIBER = "select url, secret from orderhub_meta.subscriptions where subscription_id = %s"
_PENDING = """
select d.order_id, d.change_id, o.payload, d.first_attempt_at, o.created_at
from orderhub_meta.deliveries as d join orderhub_meta.outbox as o using (change_id)
where d.subscription_id = %s and {where}
  and d.delivered_at is null and d.dead_at is null
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


async def post(
    client: httpx.AsyncClient, url: str, secret: str, change_id: int, payload: Any
) -> tuple[datetime, str | None]:
    """POST one change, signed; when it was sent, and the error (None: delivered)."""
    body = orjson.dumps(payload)
    now = datetime.now(UTC)
    msg_id = f"msg_{change_id}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    try:
        answer = await client.post(url, content=body, headers=headers, timeout=TIMEOUT)
        return now, None if answer.is_success else f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:
        return now, f"{type(exc).__name__}: {exc}"


async def deliver(
    conn: psycopg.AsyncConnection[Any],
    client: httpx.AsyncClient,
    change_id: int,
    sub: int,
    order_id: str | None = None,
    timings: dict[str, float] | None = None,
    shard: int | None = None,
) -> int:
    """Send every pending delivery of subscription ``sub`` and shard ``shard`` (or, for a
    job queued before the shards, of the order ``order_id`` or of ``change_id``); each
    order's in cursor order, up to :data:`ORDERS_AT_ONCE` orders side by side; mark each;
    how many were delivered. An order stops at its first refused delivery and the others go
    on; then :class:`Undeliverable` is raised (the job is retried, the refused order's later
    changes wait behind it). One refused for :data:`GIVE_UP_AFTER` is dead-lettered and its
    order's rest still go (then :class:`Dead`, when nothing was refused: the job fails).
    ``timings`` adds up where a first attempt's time went (:data:`TIMINGS`)."""
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

    async def one(pending: list[tuple[Any, ...]]) -> tuple[int, list[int], str | None]:
        async with gate:
            return await _send_order(conn, client, subscriber, sub, pending, (started, clock),
                                     timings)  # fmt: skip

    results = await asyncio.gather(*(one(pending) for pending in orders.values()))
    refused = [error for _, _, error in results if error is not None]
    dead = [change for _, gone, _ in results for change in gone]
    if refused:
        raise Undeliverable(f"{subscriber[0]}: {refused[0]} ({len(refused)} orders refused)")
    if dead:
        raise Dead(f"{subscriber[0]}: changes {dead} given up after {GIVE_UP_AFTER}")
    return sum(sent for sent, _, _ in results)


async def _send_order(
    conn: psycopg.AsyncConnection[Any],
    client: httpx.AsyncClient,
    subscriber: tuple[str, str],
    sub: int,
    pending: list[tuple[Any, ...]],
    start: tuple[datetime, float],
    timings: dict[str, float] | None,
) -> tuple[int, list[int], str | None]:
    """Send one order's pending deliveries in cursor order, marking each; how many were
    delivered, the ones dead-lettered, and the error that stopped it (None: none did)."""
    url, secret = subscriber
    dead, delivered = [], 0
    for pending_id, payload, first, created in pending:
        if timings is not None and first is None:
            _add(timings, "to_job", (start[0] - created).total_seconds())
            _add(timings, "in_job", time.perf_counter() - start[1])
        now, error = await post(client, url, secret, pending_id, payload)
        gone = error is not None and first is not None and now - first >= GIVE_UP_AFTER
        await conn.execute(_MARK, (now, error, error is None, now, gone, now, pending_id, sub))
        if gone:
            dead.append(pending_id)
        elif error is not None:
            return delivered, dead, error
        else:
            delivered += 1
    return delivered, dead, None


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
        async with httpx.AsyncClient() as client:

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
        while not conns.empty():
            await conns.get_nowait().close()
