"""A burst of source changes through the live path, and how long each took to be served.

:func:`run_burst` starts the live service in this process (as ``orderhub serve`` runs it),
asks the sandbox to move ``count`` trackers on (``POST /changes``; the sandbox pushes each
change to the service) and measures, per change, the seconds from the request to the moment
the order's row of ``/orders`` (``fct_order_current_status``) was recomputed after it - then
stops the service. ``orderhub demo`` ends with it; ``bench/live.py`` measures the same path
at sustained loads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg

from orderhub.live.runtime import live_service
from orderhub.settings import Settings


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass(frozen=True)
class Burst:
    """What a burst measured: the changes asked, those seen served, and the latencies."""

    asked: int
    served: int
    seconds: list[float]

    def render(self) -> str:
        if not self.seconds:
            return f"live path: {self.asked} changes pushed, none served within the wait"
        p50, p95, p99 = (percentile(self.seconds, q) for q in (0.5, 0.95, 0.99))
        return (
            f"live path: {self.served} of {self.asked} pushed changes served in /orders;"
            f" latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )


def served_since(url: str, orders: list[str], since: datetime) -> set[str]:
    """The orders whose /orders row was recomputed at or after ``since``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select order_id from marts.fct_order_current_status"
            " where order_id = any(%s) and built_at >= %s",
            (orders, since),
        ).fetchall()
    return {row[0] for row in rows}


def run_burst(settings: Settings, url: str, sandbox_root: str, port: int, count: int = 50) -> Burst:
    """Start the service on ``port``, push ``count`` tracker changes, measure, stop."""
    service = live_service(settings, url, "127.0.0.1", port)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="orderhub-live")
    thread.start()
    try:
        _wait_up(f"http://127.0.0.1:{port}/health")
        since = datetime.now(UTC)
        started = time.monotonic()
        moved = httpx.post(
            f"{sandbox_root}/changes", json={"system": "tms", "count": count}, timeout=30
        ).json()["changed"]
        pending = {m["order_id"] for m in moved if m.get("order_id")}
        seconds: list[float] = []
        while pending and time.monotonic() - started < 30:
            done = served_since(url, sorted(pending), since)
            seconds.extend(time.monotonic() - started for _ in done)
            pending -= done
            time.sleep(0.02)
        return Burst(len(moved), len(seconds), seconds)
    finally:
        stop.set()
        thread.join(timeout=15)


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the live service did not answer at {url}")
