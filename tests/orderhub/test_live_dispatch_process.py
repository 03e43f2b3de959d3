"""The dispatcher as ``orderhub serve`` runs it, in a supervised process of its own: killed,
it is started again and every change still reaches the subscriber, in order per order;
stopped, its process is gone within the grace."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import psycopg
from dbt_builds import database
from dbt_scenarios import unknown_batches
from hot_path_world import drain, push, versions
from subscriber import Subscriber

from orderhub.live import subscriptions
from orderhub.live.dispatch_process import GRACE, DispatcherProcess
from orderhub.recompute import CompiledModel

POOL = versions(unknown_batches())


def wait_for(check: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is gone too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_dispatcher_process_is_restarted_and_loses_nothing(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel]
) -> None:
    good = Subscriber()
    with database(pg_server, template=hot_template) as url:
        with psycopg.connect(url) as conn:
            _, good.secret = subscriptions.add(conn, good.url)
        good.start()
        push(url, [[version] for version in POOL])
        drain(url, hot_models)
        with psycopg.connect(url) as conn:
            changes = conn.execute(
                "select change_id, order_id from orderhub_meta.outbox order by 1"
            ).fetchall()
        assert changes
        supervisor = DispatcherProcess(url, concurrency=4)
        stop = threading.Event()
        thread = threading.Thread(target=supervisor.run, args=(stop,))
        thread.start()
        try:
            wait_for(lambda: supervisor.counters["pid"] is not None)
            first = supervisor.counters["pid"]
            os.kill(first, signal.SIGKILL)  # while it starts, before it delivers it all
            wait_for(lambda: supervisor.counters["restarts"] == 1)
            wait_for(lambda: supervisor.counters["pid"] not in (None, first))
            second = supervisor.counters["pid"]
            wait_for(lambda: {r[0] for r in good.received} >= {f"msg_{c[0]}" for c in changes})
            assert good.bad_signatures == 0
            for order in {c[1] for c in changes}:
                ids = [int(r[0][4:]) for r in good.received if r[1]["order_id"] == order]
                assert ids == sorted(ids), order  # per-order ordering across the kill
            wait_for(lambda: supervisor.counters["delivered"] >= 1, 10)
        finally:
            stopped = time.monotonic()
            stop.set()
            thread.join(timeout=GRACE + 5)
            good.stop()
        assert not thread.is_alive()
        assert time.monotonic() - stopped < GRACE + 1
        assert not alive(first) and not alive(second)
