"""Assemble the live service from the settings: secrets, provenance log, the compiled hot
path (compiled again when the dbt project changes), the workers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from ledger.keys import load_or_create_signer
from ledger.log import ProvenanceLog
from orderhub.cases.workers import CaseWorkers
from orderhub.live.case_events import CaseEvents
from orderhub.live.dispatch_process import DispatcherProcess
from orderhub.live.hot_path import HotPath, NotCompiled
from orderhub.live.intake import Intake
from orderhub.live.service import LiveService, build_app
from orderhub.live.signatures import webhook_secret
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.publishing import published_colour
from orderhub.recompute import CompiledModel, compile_models, project_fingerprint
from orderhub.settings import SIGNING_KEY_FILE, Settings
from orderhub.sources import API_SYSTEMS

LOGGER = logging.getLogger("orderhub.live")
#: Seconds between checks whether the dbt project changed (then the hot path recompiles).
RECHECK = 30.0


def provenance_log(settings: Settings, url: str) -> ProvenanceLog:
    """The home's provenance log (the key that signs its checkpoints, orderhub's kinds)."""
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    return ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS)


class CompiledSelects:
    """The hot path's compiled selects per colour of the marts (None: the ``marts`` schema's
    own tables, before any publish). The published colour's are compiled at start; another
    colour's, and all of them after a project change, when a micro-batch first asks for
    them - it raises :class:`NotCompiled` and the worker compiles outside its transaction."""

    def __init__(self, url: str, work: Path) -> None:
        self.url, self.work = url, work
        self.fingerprint = project_fingerprint()
        self.checked = time.monotonic()
        self._lock = threading.Lock()
        self._models: dict[str | None, Sequence[CompiledModel]] = {}
        with psycopg.connect(url) as conn:
            colour = published_colour(conn)
        self.compile(colour)

    def compile(self, colour: str | None) -> None:
        """Compile ``colour``'s selects (once, whichever worker asks first)."""
        with self._lock:
            if colour not in self._models:
                work = self.work / (colour or "marts")
                self._models[colour] = compile_models(self.url, work, colour=colour)

    def __call__(self, colour: str | None) -> Sequence[CompiledModel]:
        with self._lock:
            if time.monotonic() - self.checked > RECHECK:
                self.checked = time.monotonic()
                fingerprint = project_fingerprint()
                if fingerprint != self.fingerprint:
                    LOGGER.info("the dbt project changed: compiling the hot path again")
                    self._models.clear()
                    self.fingerprint = fingerprint
            if colour not in self._models:
                raise NotCompiled(lambda: self.compile(colour))
            return self._models[colour]


#: Hot-path workers (they take different pending records; locks keep them apart).
HOT_PATH_WORKERS = 2


def live_service(settings: Settings, url: str, host: str, port: int) -> LiveService:
    """The service: receivers and intake, the hot-path workers, the dispatcher (in a
    supervised process of its own), and the cases' workers (live detection and relay, the
    one-minute sweep, alerts, leaves)."""
    selects = CompiledSelects(url, settings.home_dir / "dbt" / "hot_path")
    hots = [HotPath(url, selects) for _ in range(HOT_PATH_WORKERS)]

    def wake() -> None:
        for worker in hots:
            worker.wake.set()

    intake = Intake(url, provenance_log(settings, url), on_stored=wake)
    dispatcher = DispatcherProcess(url)
    secrets = {system: webhook_secret(settings, system) for system in API_SYSTEMS}
    case_events = CaseEvents(url)
    cases = CaseWorkers(settings, url, lambda: provenance_log(settings, url))
    counters = {
        "hot_path": [h.counters for h in hots],
        "dispatch": dispatcher.counters,
        "cases": {**cases.counters, "live": case_events.counters},
    }
    workers: dict[str, Callable[[threading.Event], None]] = {
        "intake": intake.run,
        **{f"hot-path-{n}": worker.run for n, worker in enumerate(hots, start=1)},
        "dispatch": dispatcher.run,
        "cases-live": case_events.run,
        **cases.workers(),
    }
    return LiveService(build_app(intake, secrets, counters), workers, host, port)
