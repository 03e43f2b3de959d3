"""The dispatcher: deliver the outbox to subscribers, signed per Standard Webhooks.

Delivery runs on procrastinate, a PostgreSQL job queue: the hot path queues one job per
delivery in the outbox's own transaction (:func:`defer_sql` calls procrastinate's
``procrastinate_defer_jobs_v1``), so a change is never committed without its deliveries nor
the reverse. Each job carries the lock ``<subscription>:<order>``: procrastinate runs no job
while an earlier one with its lock waits or runs, so one subscriber receives one order's
changes in cursor order, even across retries, while other orders and other subscribers go
on (a failing subscriber blocks nobody else). LISTEN/NOTIFY wakes the worker at commit.

:func:`deliver` posts the outbox row's payload with the headers ``webhook-id`` (``msg_`` and
the change's cursor: the same on every retry, the receiver dedupes on it),
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


def defer_sql(queued: str) -> str:
    """SQL deferring one delivery job per row ``(change_id, subscription_id, order_id)`` of
    the relation ``queued``, in cursor order."""
    return (
        "select procrastinate_defer_jobs_v1(array("
        f" select row('{QUEUE}', '{TASK}', 0,"
        " q.subscription_id || ':' || q.order_id, null,"
        " jsonb_build_object('change_id', q.change_id, 'subscription_id', q.subscription_id),"
        f" null)::procrastinate_job_to_defer_v1 from {queued} as q"
        " order by q.change_id, q.subscription_id))"
    )


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


_DELIVERY = """
select o.payload, s.url, s.secret, d.delivered_at, d.dead_at, d.first_attempt_at
from orderhub_meta.deliveries as d
join orderhub_meta.outbox as o using (change_id)
join orderhub_meta.subscriptions as s using (subscription_id)
where d.change_id = %s and d.subscription_id = %s
"""


async def deliver(
    conn: psycopg.AsyncConnection[Any], client: httpx.AsyncClient, change_id: int, sub: int
) -> None:
    """Send one delivery; raise :class:`Undeliverable` (retry) or :class:`Dead`."""
    row = await (await conn.execute(_DELIVERY, (change_id, sub))).fetchone()
    if row is None or row[3] is not None or row[4] is not None:
        return  # the subscription is gone, or the delivery already done or dead
    payload, url, secret, _, _, first = row
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
        error = None if answer.is_success else f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    dead = error is not None and first is not None and now - first >= GIVE_UP_AFTER
    await conn.execute(
        "update orderhub_meta.deliveries set attempts = attempts + 1,"
        " first_attempt_at = coalesce(first_attempt_at, %s), last_error = %s,"
        " delivered_at = case when %s then %s end, dead_at = case when %s then %s end"
        " where change_id = %s and subscription_id = %s",
        (now, error, error is None, now, dead, now, change_id, sub),
    )
    if dead:
        raise Dead(f"{url}: {error}; given up after {GIVE_UP_AFTER}")
    if error is not None:
        raise Undeliverable(f"{url}: {error}")


class Dispatcher:
    """A procrastinate worker delivering the outbox, in a thread of its own."""

    def __init__(self, database_url: str, concurrency: int = 32) -> None:
        self.database_url = database_url
        self.concurrency = concurrency
        self.counters = {"delivered": 0, "failed": 0}

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
        conns: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for _ in range(self.concurrency):
            conns.put_nowait(
                await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
            )
        async with httpx.AsyncClient() as client:

            @app.task(name=TASK, queue=QUEUE, retry=Backoff())
            async def task(change_id: int, subscription_id: int) -> None:
                conn = await conns.get()
                try:
                    await deliver(conn, client, change_id, subscription_id)
                    self.counters["delivered"] += 1
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
                        fetch_job_polling_interval=1.0,
                        delete_jobs="successful",
                    )
                )
                while not stop.is_set() and not worker.done():
                    await asyncio.sleep(0.1)
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
        while not conns.empty():
            await conns.get_nowait().close()
