"""The cases' workers in ``orderhub serve``: the sweep, the alerter and the logger.

- the sweep runs ``cases.sweep()`` (stuck beyond SLA, silent source and stale order on the
  wall clock; escalations) every ``cases_sweep_seconds`` (60; tests use about 1);
- the alerter sends queued alerts (:mod:`.alerts`) as soon as they are queued (it polls
  every :data:`POLL` seconds) and the digests when due;
- the logger appends the queued actions' provenance leaves (:mod:`.provenance`) in batches.

Each is a ``run(stop)`` callable; a failure is logged and the worker goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from ledger.log import ProvenanceLog
from orderhub.cases.alerts import Alerter
from orderhub.cases.provenance import log_actions
from orderhub.settings import Settings

LOGGER = logging.getLogger("orderhub.cases")
#: Seconds between two polls of the alert and leaf queues.
POLL = 0.25


def _loop(name: str, stop: threading.Event, every: float, step: Callable[[], Any]) -> None:
    while not stop.is_set():
        try:
            busy = step()
        except Exception:
            LOGGER.exception("cases %s failed; trying again", name)
            busy = False
        if not busy:
            stop.wait(every)


class CaseWorkers:
    """The sweep, alerter and logger of one warehouse."""

    def __init__(self, settings: Settings, url: str, open_log: Callable[[], ProvenanceLog]) -> None:
        self.settings, self.url, self.open_log = settings, url, open_log
        self.alerter = Alerter(settings)
        self.counters: dict[str, Any] = {"sweeps": 0, "raised": 0, "logged": 0}
        self.counters["alerts"] = self.alerter.counters

    def sweep(self, stop: threading.Event) -> None:
        """Run ``cases.sweep()`` every ``cases_sweep_seconds`` until ``stop``."""
        with psycopg.connect(self.url, autocommit=True) as conn:

            def step() -> bool:
                row = conn.execute("select cases.sweep()").fetchone()
                self.counters["sweeps"] += 1
                self.counters["raised"] += int(row[0]) if row else 0
                return False

            _loop("sweep", stop, self.settings.cases_sweep_seconds, step)

    def alert(self, stop: threading.Event) -> None:
        """Send alerts as they are queued, and the digests when due, until ``stop``."""
        with psycopg.connect(self.url, autocommit=True) as conn:

            def step() -> bool:
                taken = self.alerter.step(conn, time.monotonic())
                self.alerter.flush_digests(conn)
                return taken > 0

            _loop("alerter", stop, POLL, step)

    def log(self, stop: threading.Event) -> None:
        """Append the queued actions' leaves until ``stop`` (and what is queued then)."""
        with self.open_log() as log:
            log.conn.autocommit = True
            _loop("logger", stop, POLL, lambda: log_actions(log) > 0)
            while log_actions(log):
                pass

    def workers(self) -> dict[str, Callable[[threading.Event], None]]:
        """The three workers, by name."""
        return {"cases-sweep": self.sweep, "cases-alerts": self.alert, "cases-log": self.log}
