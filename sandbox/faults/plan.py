"""A fault plan: the faults to inject, what injecting them did, and the ground truth.

:class:`FaultPlan` holds the parsed faults (:mod:`sandbox.faults.spec`) and a seed, wraps
each system's app with them (:class:`sandbox.faults.asgi.FaultyApp`), counts requests and
firings, and makes the source changes ``change`` and ``late`` stand for. What a client must
end up with under the plan is read from it: :attr:`FaultPlan.changed` (the final version of
every record the source changed) and :meth:`FaultPlan.served_version` (a record as the
schema faults serve it).
"""

from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.apis.oauth import TokenIssuer
from sandbox.clock import instant_seconds
from sandbox.faults.asgi import CUT_KINDS, App, FaultyApp, quiet_cut_connections
from sandbox.faults.rewrites import rewrite_record
from sandbox.faults.spec import Fault, FaultSpecError, parse_faults
from sandbox.store import CURSOR_FIELD, KEY_FIELD, SandboxStore, wire_time

ENV_FAULTS = "ORDERHUB_SANDBOX_FAULTS"
ENV_SEED = "ORDERHUB_SANDBOX_FAULT_SEED"


@dataclass
class FaultPlan:
    """The faults to inject and what injecting them did (requests, firings, changes)."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 7
    #: system -> record requests seen so far.
    requests: dict[str, int] = field(default_factory=dict)
    #: system -> [(request number, fault kind)] for every fault that fired.
    fired: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    #: system -> key -> the final version of every record ``change``/``late`` rewrote.
    changed: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)
    #: system -> key -> the version served of every record ``new_field``/``rename``/
    #: ``wrong_type`` rewrote (keyed by the record's key before the rewrite).
    rewritten: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)
    #: system -> monotonic arrival time of each record request.
    arrivals: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._last_page: dict[str, list[dict[str, Any]]] = {}
        self._newest_served: dict[str, str] = {}

    @classmethod
    def parse(cls, spec: str | None, seed: int = 7) -> FaultPlan:
        """The plan of ``spec`` (see :mod:`sandbox.faults`)."""
        return cls(parse_faults(spec), seed)

    @classmethod
    def from_env(cls) -> FaultPlan:
        """The plan ``ORDERHUB_SANDBOX_FAULTS`` names (empty when unset), seeded by
        ``ORDERHUB_SANDBOX_FAULT_SEED`` (default 7)."""
        seed_text = os.environ.get(ENV_SEED, "7")
        try:
            seed = int(seed_text)
        except ValueError:
            raise FaultSpecError(f"{ENV_SEED} must be an integer, got {seed_text!r}") from None
        return cls.parse(os.environ.get(ENV_FAULTS), seed)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def for_system(self, system: str) -> list[Fault]:
        return [fault for fault in self.faults if fault.system == system]

    def count(self, system: str, kind: str | None = None) -> int:
        """How many times faults (of ``kind``) fired on ``system``."""
        return sum(1 for _, k in self.fired.get(system, []) if kind is None or k == kind)

    def describe(self) -> str:
        """One line naming the plan (for logs), or saying there is none."""
        if not self.faults:
            return f"sandbox faults: none (set them with --faults or {ENV_FAULTS})"
        entries = ", ".join(str(f) for f in self.faults)
        return f"sandbox faults (seed {self.seed}): {entries}"

    # ------------------------------------------------------------- ground truth

    def served_version(self, system: str, record: dict[str, Any]) -> dict[str, Any]:
        """The version of ``record`` a client receives under this plan's record rewrites
        (``new_field``, ``rename``, ``wrong_type`` that fire on every request)."""
        served = copy.deepcopy(record)
        for fault in self.for_system(system):
            if fault.always:
                rewrite_record(fault, served)
        return served

    # ------------------------------------------------------------------ wiring

    def wrap(self, app: App, system: str, store: SandboxStore, issuer: TokenIssuer | None) -> App:
        """``app`` with this plan's faults for ``system`` injected (``app`` itself if none)."""
        faults = self.for_system(system)
        if not faults:
            return app
        if any(f.kind in CUT_KINDS for f in faults):
            quiet_cut_connections()
        return FaultyApp(app, system, faults, self, store, issuer)

    # ------------------------------------------------- what the wrapped apps report

    def next_request(self, system: str) -> int:
        """Count a record request of ``system``; its number (1-based)."""
        number = self.requests.get(system, 0) + 1
        self.requests[system] = number
        self.arrivals.setdefault(system, []).append(time.monotonic())
        return number

    def record_firing(self, system: str, number: int, kind: str) -> None:
        self.fired.setdefault(system, []).append((number, kind))

    def rng(self, system: str, number: int, kind: str) -> random.Random:
        """The random generator of fault ``kind`` on request ``number`` (seeded, reproducible)."""
        return random.Random(f"{self.seed}/{system}/{kind}/{number}")

    def last_page(self, system: str) -> list[dict[str, Any]] | None:
        """The records of the last non-empty page served to ``system``'s clients."""
        return self._last_page.get(system)

    def saw_page(self, system: str, records: list[dict[str, Any]]) -> None:
        """Note ``records`` as served (``duplicates``, ``change`` and ``late`` read them)."""
        if not records:
            return
        self._last_page[system] = records
        cursor = CURSOR_FIELD[system]
        newest = max((r[cursor] for r in records if isinstance(r.get(cursor), str)), default=None)
        if newest is not None and newest > self._newest_served.get(system, ""):
            self._newest_served[system] = newest

    # ----------------------------------------------------------- source changes

    def change(self, system: str, store: SandboxStore, number: int, count: int) -> None:
        """Rewrite ``count`` records with a cursor value after every other one."""
        rng = self.rng(system, number, "change")
        key_field, cursor = KEY_FIELD[system], CURSOR_FIELD[system]
        records = store.records(system)
        if not records:
            return
        page = self._last_page.get(system, [])
        picks: list[Any] = [r[key_field] for r in (page[-1:] + page[:1]) if key_field in r]
        pool = [r[key_field] for r in records]
        while len(dict.fromkeys(picks)) < min(count, len(pool)):
            picks.append(rng.choice(pool))
        newest = int(instant_seconds(records[-1][cursor]))  # ISO, Odoo's or OData's form
        for offset, key in enumerate(list(dict.fromkeys(picks))[:count], start=1):
            current = store.get(system, key)
            if current is None:
                continue
            current[cursor] = wire_time(system, newest + offset)
            self._remember(system, store, current)

    def late(self, system: str, store: SandboxStore, number: int, lag: int) -> None:
        """Rewrite one record with a cursor ``lag`` s behind the newest a client can have seen.

        That is the newest record served so far, or the newest in the source when nothing has
        been served yet (a write committed between two syncs). A record not yet served is
        picked when there is one: its old version is then never served either (a record
        inserted late). Otherwise one whose cursor is before the new one: a record's cursor
        never moves back, as a real source's last-modified time does not.
        """
        key_field, cursor = KEY_FIELD[system], CURSOR_FIELD[system]
        records = store.records(system)
        if not records:
            return
        newest = self._newest_served.get(system) or records[-1][cursor]
        written = wire_time(system, int(instant_seconds(newest)) - lag)
        rng = self.rng(system, number, "late")
        ahead = [r[key_field] for r in records if r[cursor] > newest]
        behind = [r[key_field] for r in records if r[cursor] < written]
        if not (ahead or behind):
            return
        current = store.get(system, rng.choice(ahead or behind))
        if current is None:
            return
        current[cursor] = written
        self._remember(system, store, current)

    def _remember(self, system: str, store: SandboxStore, record: dict[str, Any]) -> None:
        store.upsert(system, record)
        self.changed.setdefault(system, {})[record[KEY_FIELD[system]]] = record


__all__ = ["ENV_FAULTS", "ENV_SEED", "FaultPlan"]
