"""Faults the sandbox injects into its HTTP answers, per system, reproducibly from a seed.

Real source systems misbehave; the connectors must lose nothing when they do. A fault plan
is a comma-separated list of entries, given to ``orderhub sandbox --faults`` or in
``ORDERHUB_SANDBOX_FAULTS`` (seed: ``--fault-seed`` / ``ORDERHUB_SANDBOX_FAULT_SEED``)::

    entry   := system ":" kind [":" arg] [trigger]
    trigger := "@" N ["x" K]      the N-th record request of that system (1-based), and the
                                  K-1 after it (a burst)
             | "=" P              each record request with probability P (0 < P <= 1)
             | (nothing)          every record request

    e.g.  erp:429@3,crm:503@2x3,wms:drop=0.05,tms:timeout:2@4,crm:expire@5

Only a system's record endpoint counts as a request (not its OAuth token endpoint). Whether
a probabilistic entry fires on request N is a function of (seed, system, kind, N) alone, so
the same plan and seed misbehave the same way for the same requests.

=============== ====================================================================== ======
kind            what the answer becomes                                                arg
=============== ====================================================================== ======
429             HTTP 429 in the system's error shape, ``Retry-After: <arg>``            s (1)
500 502 503 504 that HTTP status in the system's error shape                          --
timeout         headers and half the body, a stall of <arg> seconds, then the          s (30)
                connection is cut (a client with a shorter read timeout gives up first)
drop            headers and half the body, then the connection is cut                 --
malformed       HTTP 200 whose body is cut in the middle (not JSON)                    --
missing_key     HTTP 200 whose records key (``d.results``, ``records``, ``data``,       --
                ``trackers``) is gone
duplicates      the page starts with the last <arg> records of the previous page       n (3)
shuffle         the page's records in a seeded random order (``updated_at`` out of     --
                order)
late            before answering, a record (one not yet served, if any) is changed     s (60)
                with a cursor <arg> s behind the newest served, or behind the newest
                in the source before anything was served (a write that lands late)
change          before answering, <arg> records change (new cursor value after every   n (3)
                other): the last record served, the first of that page, and random ones
new_field       every record gains the field <arg> (value derived from its key)        name
rename          field <old> of every record is renamed <new> (arg ``old/new``)          old/new
wrong_type      field <arg> of every record gets a value of an uncastable type         field
expire          every access token of the system expires (OAuth systems: crm, wms);    --
                this request is answered 401
delay           the answer is held <arg> seconds                                       s (1)
=============== ====================================================================== ======

Ground truth under faults: transport faults (429, 5xx, timeout, drop) and body faults that
fail a sync (malformed, missing_key) change nothing the source holds, so the warehouse must
end with exactly the scenario's records. ``duplicates`` and ``shuffle`` change only what is
served, not the records. ``change`` and ``late`` change the source: :attr:`FaultPlan.changed`
holds the final version of every record they touched, and the warehouse must hold that final
version (plus, possibly, the version it replaced). ``new_field``, ``rename`` and
``wrong_type`` change the served records: :meth:`FaultPlan.served_version` gives the record a
client received, and a record missing a required field or holding an uncastable value belongs
in quarantine, not in the raw table.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from orderhub.sources import SOURCE_SYSTEMS
from sandbox.apis.oauth import TokenIssuer
from sandbox.clock import iso, parse_instant
from sandbox.store import CURSOR_FIELD, KEY_FIELD, SandboxStore

ENV_FAULTS = "ORDERHUB_SANDBOX_FAULTS"
ENV_SEED = "ORDERHUB_SANDBOX_FAULT_SEED"

#: Every fault kind and the default of its argument (None: takes no argument; "": required).
KINDS: dict[str, str | None] = {
    "429": "1",
    "500": None,
    "502": None,
    "503": None,
    "504": None,
    "timeout": "30",
    "drop": None,
    "malformed": None,
    "missing_key": None,
    "duplicates": "3",
    "shuffle": None,
    "late": "60",
    "change": "3",
    "new_field": "",
    "rename": "",
    "wrong_type": "",
    "expire": None,
    "delay": "1",
}
#: Where each system's records sit in a page.
RECORDS_PATH: dict[str, tuple[str, ...]] = {
    "erp": ("d", "results"),
    "crm": ("records",),
    "wms": ("data",),
    "tms": ("trackers",),
}
#: The faults that rewrite a page's body.
_BODY_KINDS = frozenset(
    {"duplicates", "shuffle", "new_field", "rename", "wrong_type", "missing_key"}
)
#: The faults that need the pages served so far (``change`` and ``late`` pick from them).
_PAGE_READERS = _BODY_KINDS | {"change", "late"}
#: The faults that cut or spoil a page's bytes.
_BYTE_KINDS = frozenset({"drop", "timeout", "malformed"})
#: The systems whose bearer tokens expire (OAuth 2.0).
OAUTH_SYSTEMS = ("crm", "wms")
_ENTRY = re.compile(
    r"^(?P<system>[a-z]+):(?P<kind>[a-z0-9_]+)(?::(?P<arg>[^@=]+))?"
    r"(?:@(?P<at>\d+)(?:x(?P<burst>\d+))?|=(?P<rate>[0-9.]+))?$"
)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class FaultSpecError(ValueError):
    """A fault plan entry that cannot be understood; the message names it."""


@dataclass(frozen=True)
class Fault:
    """One entry of a fault plan."""

    system: str
    kind: str
    arg: str | None = None
    at: int | None = None
    burst: int = 1
    rate: float | None = None

    def fires(self, seed: int, request: int) -> bool:
        """Whether this fault hits request number ``request`` (1-based) of its system."""
        if self.at is not None:
            return self.at <= request < self.at + self.burst
        if self.rate is not None:
            digest = hashlib.blake2b(
                f"{seed}/{self.system}/{self.kind}/{self.arg}/{request}".encode(), digest_size=8
            ).digest()
            return int.from_bytes(digest, "big") / 2**64 < self.rate
        return True

    def number(self) -> float:
        """The argument as a number (seconds or a count)."""
        try:
            return float(self.arg or "0")
        except ValueError:
            raise FaultSpecError(f"{self}: {self.kind} takes a number, got {self.arg!r}") from None

    def __str__(self) -> str:
        text = f"{self.system}:{self.kind}" + (f":{self.arg}" if self.arg is not None else "")
        if self.at is not None:
            return text + f"@{self.at}" + (f"x{self.burst}" if self.burst != 1 else "")
        return text + (f"={self.rate:g}" if self.rate is not None else "")


def parse_faults(spec: str | None) -> list[Fault]:
    """The faults of a plan (see the module docstring); FaultSpecError names a bad entry."""
    faults: list[Fault] = []
    for entry in (part.strip() for part in (spec or "").split(",")):
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if match is None:
            raise FaultSpecError(
                f"fault {entry!r}: expected system:kind[:arg][@N[xK]|=P], e.g. erp:429@3"
            )
        system, kind, arg = match["system"], match["kind"], match["arg"]
        if system not in SOURCE_SYSTEMS:
            raise FaultSpecError(
                f"fault {entry!r}: unknown system {system!r} (known: {SOURCE_SYSTEMS})"
            )
        if kind not in KINDS:
            raise FaultSpecError(
                f"fault {entry!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})"
            )
        default = KINDS[kind]
        if default is None and arg is not None:
            raise FaultSpecError(f"fault {entry!r}: {kind} takes no argument")
        if default == "" and not arg:
            raise FaultSpecError(f"fault {entry!r}: {kind} needs an argument")
        if kind == "rename" and (arg is None or arg.count("/") != 1 or "" in arg.split("/")):
            raise FaultSpecError(f"fault {entry!r}: rename takes old/new, e.g. rename:Status/State")
        if kind == "expire" and system not in OAUTH_SYSTEMS:
            raise FaultSpecError(
                f"fault {entry!r}: only {', '.join(OAUTH_SYSTEMS)} use expiring tokens"
            )
        rate = float(match["rate"]) if match["rate"] is not None else None
        if rate is not None and not 0 < rate <= 1:
            raise FaultSpecError(f"fault {entry!r}: a probability is in (0, 1], got {rate}")
        at = int(match["at"]) if match["at"] is not None else None
        burst = int(match["burst"]) if match["burst"] is not None else 1
        if (at is not None and at < 1) or burst < 1:
            raise FaultSpecError(f"fault {entry!r}: request numbers and bursts start at 1")
        fault = Fault(system, kind, arg if arg is not None else default, at, burst, rate)
        if default not in (None, ""):
            fault.number()  # numeric argument: fail now, not mid-request
        faults.append(fault)
    return faults


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
        """The plan of ``spec`` (see the module docstring)."""
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
        """One line naming the plan (for logs)."""
        entries = ", ".join(str(f) for f in self.faults) or "none"
        return f"sandbox faults (seed {self.seed}): {entries}"

    # ------------------------------------------------------------- ground truth

    def served_version(self, system: str, record: dict[str, Any]) -> dict[str, Any]:
        """The version of ``record`` a client receives under this plan's record rewrites
        (``new_field``, ``rename``, ``wrong_type`` that fire on every request)."""
        served = copy.deepcopy(record)
        for fault in self.for_system(system):
            if fault.at is None and fault.rate is None:
                _rewrite_record(fault, served)
        return served

    # ------------------------------------------------------------------ wiring

    def wrap(self, app: App, system: str, store: SandboxStore, issuer: TokenIssuer | None) -> App:
        """``app`` with this plan's faults for ``system`` injected (``app`` itself if none)."""
        faults = self.for_system(system)
        if not faults:
            return app
        if any(f.kind in ("drop", "timeout") for f in faults):
            _quiet_cut_connections()
        return _FaultyApp(app, system, faults, self, store, issuer)

    def _next_request(self, system: str) -> int:
        number = self.requests.get(system, 0) + 1
        self.requests[system] = number
        self.arrivals.setdefault(system, []).append(time.monotonic())
        return number

    def _record_firing(self, system: str, number: int, kind: str) -> None:
        self.fired.setdefault(system, []).append((number, kind))

    def _rng(self, system: str, number: int, kind: str) -> random.Random:
        return random.Random(f"{self.seed}/{system}/{kind}/{number}")

    def _saw_page(self, system: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self._last_page[system] = records
        cursor = CURSOR_FIELD[system]
        newest = max((r[cursor] for r in records if isinstance(r.get(cursor), str)), default=None)
        if newest is not None and newest > self._newest_served.get(system, ""):
            self._newest_served[system] = newest

    # ----------------------------------------------------------- source changes

    def _change(self, system: str, store: SandboxStore, number: int, count: int) -> None:
        """Rewrite ``count`` records with a cursor value after every other one."""
        rng = self._rng(system, number, "change")
        key_field, cursor = KEY_FIELD[system], CURSOR_FIELD[system]
        records = store.records(system)
        if not records:
            return
        page = self._last_page.get(system, [])
        picks: list[Any] = [r[key_field] for r in (page[-1:] + page[:1]) if key_field in r]
        pool = [r[key_field] for r in records]
        while len(dict.fromkeys(picks)) < min(count, len(pool)):
            picks.append(rng.choice(pool))
        newest = int(parse_instant(records[-1][cursor]))
        for offset, key in enumerate(list(dict.fromkeys(picks))[:count], start=1):
            current = store.get(system, key)
            if current is None:
                continue
            current[cursor] = iso(newest + offset)
            self._remember(system, store, current)

    def _late(self, system: str, store: SandboxStore, number: int, lag: int) -> None:
        """Rewrite one record with a cursor ``lag`` s behind the newest a client can have seen.

        That is the newest record served so far, or the newest in the source when nothing has
        been served yet (a write committed between two syncs). A record not yet served is
        picked when there is one: its old version is then never served either.
        """
        key_field, cursor = KEY_FIELD[system], CURSOR_FIELD[system]
        records = store.records(system)
        if not records:
            return
        newest = self._newest_served.get(system) or records[-1][cursor]
        rng = self._rng(system, number, "late")
        ahead = [r[key_field] for r in records if r[cursor] > newest]
        current = store.get(system, rng.choice(ahead or [r[key_field] for r in records]))
        if current is None:
            return
        current[cursor] = iso(int(parse_instant(newest)) - lag)
        self._remember(system, store, current)

    def _remember(self, system: str, store: SandboxStore, record: dict[str, Any]) -> None:
        store.upsert(system, record)
        self.changed.setdefault(system, {})[record[KEY_FIELD[system]]] = record


class _CutConnectionFilter(logging.Filter):
    """Drops uvicorn's error line for a response cut on purpose (``drop``, ``timeout``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _quiet_cut_connections() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _CutConnectionFilter) for f in logger.filters):
        logger.addFilter(_CutConnectionFilter())


# ------------------------------------------------------------------- rewrites


def _wrong_value(value: Any) -> Any:
    """A value no declared type of ``value`` can be cast from."""
    if isinstance(value, (dict, list)):
        return "not-a-structure"
    if isinstance(value, bool):
        return {"unexpected": value}
    if isinstance(value, (int, float)):
        return "n/a"
    if isinstance(value, str):
        return {"unexpected": value}
    return ["unexpected"]


def _rewrite_record(fault: Fault, record: dict[str, Any]) -> None:
    """Apply a per-record schema fault (new_field, rename, wrong_type) in place."""
    arg = fault.arg or ""
    if fault.kind == "new_field":
        key = record.get(KEY_FIELD[fault.system])
        record[arg] = f"sandbox-{hashlib.sha256(str(key).encode()).hexdigest()[:8]}"
    elif fault.kind == "rename":
        old, new = arg.split("/")
        if old in record:
            record[new] = record.pop(old)
    elif fault.kind == "wrong_type" and arg in record:
        record[arg] = _wrong_value(record[arg])


def _error_body(system: str, status: int, message: str) -> Any:
    """An error answer in ``system``'s own shape."""
    if system == "erp":
        return {"error": {"code": str(status), "message": {"lang": "en", "value": message}}}
    if system == "crm":
        code = "REQUEST_LIMIT_EXCEEDED" if status == 429 else "SERVER_UNAVAILABLE"
        return [{"errorCode": code, "message": message}]
    if system == "tms":
        code = "RATE_LIMITED" if status == 429 else "INTERNAL_SERVER_ERROR"
        return {"error": {"code": code, "message": message}}
    return {"error": message}


class _FaultyApp:
    """ASGI wrapper that injects one system's faults around its app."""

    def __init__(
        self,
        app: App,
        system: str,
        faults: list[Fault],
        plan: FaultPlan,
        store: SandboxStore,
        issuer: TokenIssuer | None,
    ) -> None:
        self.app = app
        self.system = system
        self.faults = faults
        self.plan = plan
        self.store = store
        self.issuer = issuer
        #: Whether any of this system's faults reads the pages (else they pass untouched).
        self.reads_pages = any(fault.kind in _PAGE_READERS for fault in faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)  # token endpoint, lifespan: untouched
            return
        plan, system = self.plan, self.system
        number = plan._next_request(system)
        firing = [f for f in self.faults if f.fires(plan.seed, number)]
        for fault in firing:
            plan._record_firing(system, number, fault.kind)
        kinds = {f.kind: f for f in firing}

        # faults answered before the real app runs
        if "delay" in kinds:
            await asyncio.sleep(kinds["delay"].number())
        if "expire" in kinds and self.issuer is not None:
            self.issuer.expire_all()  # the app itself answers the now expired token with 401
        if "429" in kinds:
            retry_after = kinds["429"].arg or "1"
            body = _error_body(system, 429, "Too many requests: slow down")
            await _send_json(send, 429, body, {"retry-after": retry_after})
            return
        for code in ("500", "502", "503", "504"):
            if code in kinds:
                body = _error_body(system, int(code), f"Injected HTTP {code}")
                await _send_json(send, int(code), body)
                return
        if "change" in kinds:
            plan._change(system, self.store, number, int(kinds["change"].number()))
        if "late" in kinds:
            plan._late(system, self.store, number, int(kinds["late"].number()))

        if not self.reads_pages and not (_BYTE_KINDS & set(kinds)):
            await self.app(scope, receive, send)  # nothing to do to this page: stream it
            return
        status, headers, body = await _capture(self.app, scope, receive)
        if status != 200:
            await _send_raw(send, status, headers, body)
            return
        page = orjson.loads(body)
        records = _records_of(system, page)
        previous = plan._last_page.get(system)
        if records is not None:
            plan._saw_page(system, records)
        body = self._rewrite(page, records, previous, number, kinds, firing, body)

        if "drop" in kinds or "timeout" in kinds:
            length = (b"content-length", str(len(body)).encode())
            start = {"type": "http.response.start", "status": 200, "headers": [*headers, length]}
            await send(start)
            half = {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            await send(half)
            if "timeout" in kinds:
                await asyncio.sleep(kinds["timeout"].number())
            return  # the server closes a connection whose response never completed
        if "malformed" in kinds:
            body = body[: max(1, len(body) // 2)]
        await _send_raw(send, 200, headers, body)

    def _rewrite(
        self,
        page: Any,
        records: list[dict[str, Any]] | None,
        previous: list[dict[str, Any]] | None,
        number: int,
        kinds: dict[str, Fault],
        firing: list[Fault],
        body: bytes,
    ) -> bytes:
        """The page body with the body faults of this request applied."""
        if records is None or not (_BODY_KINDS & set(kinds)):
            return body
        served = [copy.deepcopy(r) for r in records]
        if "duplicates" in kinds and previous:
            served = [dict(r) for r in previous[-int(kinds["duplicates"].number()) :]] + served
        if "shuffle" in kinds:
            self.plan._rng(self.system, number, "shuffle").shuffle(served)
        rewrites = [f for f in firing if f.kind in ("new_field", "rename", "wrong_type")]
        if rewrites:
            log = self.plan.rewritten.setdefault(self.system, {})
            key_field = KEY_FIELD[self.system]
            for record in served:
                key = record.get(key_field)
                for fault in rewrites:
                    _rewrite_record(fault, record)
                log[key] = record
        _set_records(self.system, page, served)
        if "missing_key" in kinds:
            _drop_records_key(self.system, page)
        return orjson.dumps(page)


def _records_of(system: str, page: Any) -> list[dict[str, Any]] | None:
    node = page
    for step in RECORDS_PATH[system]:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node if isinstance(node, list) else None


def _records_parent(system: str, page: Any) -> tuple[dict[str, Any], str]:
    """The object holding ``system``'s records in ``page``, and their key in it."""
    *parents, last = RECORDS_PATH[system]
    node = page
    for step in parents:
        node = node[step]
    return node, last


def _set_records(system: str, page: Any, records: list[dict[str, Any]]) -> None:
    parent, key = _records_parent(system, page)
    parent[key] = records


def _drop_records_key(system: str, page: Any) -> None:
    parent, key = _records_parent(system, page)
    parent.pop(key, None)


async def _capture(app: App, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    """Run ``app`` and collect its whole answer."""
    status = 500
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"content-length"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return status, headers, b"".join(chunks)


async def _send_raw(send: Send, status: int, headers: list[Any], body: bytes) -> None:
    headers = [h for h in headers if h[0].lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(
    send: Send, status: int, body: Any, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await _send_raw(send, status, headers, orjson.dumps(body))


__all__ = [
    "ENV_FAULTS",
    "ENV_SEED",
    "KINDS",
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "parse_faults",
]
