"""Run the four sandbox systems on one HTTP server: ``/erp``, ``/crm``, ``/wms``, ``/tms``.

``SandboxServer`` serves a scenario's records (through a :class:`SandboxStore`) with
uvicorn, either in a background thread (``start()``/``stop()``, or ``with``) or in the
foreground (``serve_forever()``, until Ctrl-C). Port 0 picks a free port; the socket is
bound before the server starts, so ``base_url()`` is known at once.

A scenario that plays in rounds (:mod:`sandbox.messy`) is served from its first round;
``POST /rounds/next`` moves the world on to the next (its records change, their cursors
move on) and answers ``{"round": n, "rounds": total}``, or 409 after the last round;
``GET /`` says the round too. ``POST /changes`` moves records on (:mod:`sandbox.changes`);
with a :class:`~sandbox.push.Pusher` (``pusher``) every change is pushed to orderhub.

The CRM and the WMS issue their own short-lived bearer tokens (:mod:`.apis.oauth`). A
:class:`~sandbox.faults.FaultPlan` makes the systems misbehave on purpose; without
one the server injects the faults ``ORDERHUB_SANDBOX_FAULTS`` names (none when unset).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from orderhub.sources import API_SYSTEMS
from sandbox.apis import crm, erp, tms, wms
from sandbox.apis.oauth import DEFAULT_TTL, TokenIssuer
from sandbox.apis.stock import with_tms_capacity, with_wms_stock
from sandbox.changes import ANOMALIES, changes
from sandbox.credentials import SandboxCredentials
from sandbox.faults import FaultPlan
from sandbox.push import Pusher
from sandbox.stock import StockBook
from sandbox.store import SandboxStore
from sandbox.worlds import World


def token_issuers(
    credentials: SandboxCredentials, ttl: float = DEFAULT_TTL
) -> dict[str, TokenIssuer]:
    """The OAuth token issuer of the CRM (Salesforce's client-credentials flow)."""
    return {"crm": TokenIssuer(credentials.crm_client_id, credentials.crm_client_secret, ttl=ttl)}


class Rounds:
    """Which round of a scenario the store serves, and moving it on to the next."""

    def __init__(self, scenario: World | None, store: SandboxStore) -> None:
        self.scenario, self.store = scenario, store
        self.current = 1
        self.total = scenario.rounds if scenario is not None else 1
        self._lock = threading.Lock()

    def advance(self) -> int | None:
        """Serve the next round (its changed records upserted); None after the last."""
        with self._lock:
            if self.scenario is None or self.current >= self.total:
                return None
            self.current += 1
            for system in API_SYSTEMS:
                for record in self.scenario.changes(self.current, system):
                    self.store.upsert(system, record)
            return self.current

    def state(self) -> dict[str, int]:
        return {"round": self.current, "rounds": self.total}


def build_app(
    store: SandboxStore,
    credentials: SandboxCredentials,
    faults: FaultPlan | None = None,
    issuers: dict[str, TokenIssuer] | None = None,
    rounds: Rounds | None = None,
) -> Starlette:
    """One ASGI app with each system mounted under ``/<system>`` (and ``GET /`` listing them,
    ``POST /rounds/next`` moving ``rounds`` on).

    ``faults`` wraps each system's app (see :mod:`sandbox.faults`).
    """
    rounds = rounds or Rounds(None, store)
    plan = faults or FaultPlan()
    issuers = issuers or token_issuers(credentials)
    book = StockBook(store)  # the WMS's stock and what the product writes back

    def extra(system: str, app: ASGIApp) -> ASGIApp:
        """The write-back routes in front of the WMS and the TMS (outside the faults, which
        play on the order streams only: the WMS's stock models' calls go around them)."""
        faulted = plan.wrap(app, system, store, issuers.get(system))
        if system == "wms":
            app = wms.faults_on_pickings_only(faulted, app)
            return with_wms_stock(app, book, credentials.wms_api_key)
        if system == "tms":
            return with_tms_capacity(faulted, book, credentials.tms_api_key)
        return faulted

    apps = {
        "erp": erp.create_app(store, credentials.erp_api_key),
        "crm": crm.create_app(store, issuers["crm"]),
        "wms": wms.create_app(store, credentials.wms_api_key, book.refresh),
        "tms": tms.create_app(store, credentials.tms_api_key),
    }

    async def index(request: Request) -> JSONResponse:
        counts = {s: store.count(s) for s in API_SYSTEMS}
        return JSONResponse({"systems": counts, **rounds.state()})

    async def move(request: Request) -> JSONResponse:
        body = await request.json()
        system = body.get("system", "tms")
        if system not in API_SYSTEMS:
            return JSONResponse({"error": f"unknown system {system!r}"}, 400)
        anomaly = body.get("anomaly")
        if anomaly is not None and anomaly not in ANOMALIES.get(system, {}):
            return JSONResponse({"error": f"no anomaly {anomaly!r} at {system}"}, 400)
        moved = changes(
            store, system, int(body.get("count", 1)), body.get("keys"), body.get("seed", 0),
            anomaly,
        )  # fmt: skip
        return JSONResponse({"changed": moved})

    async def next_round(request: Request) -> JSONResponse:
        if rounds.advance() is None:
            return JSONResponse({"error": "no round after this one", **rounds.state()}, 409)
        return JSONResponse(rounds.state())

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/rounds/next", next_round, methods=["POST"]),
            Route("/changes", move, methods=["POST"]),
            *(Mount(f"/{system}", app=extra(system, app)) for system, app in apps.items()),
        ]
    )


class SandboxServer:
    """The sandbox's HTTP server on ``host``:``port`` (``port=0``: a free one)."""

    def __init__(
        self,
        scenario: World | None,
        credentials: SandboxCredentials,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        store: SandboxStore | None = None,
        faults: FaultPlan | str | None = None,
        token_ttl: float = DEFAULT_TTL,
        pusher: Pusher | None = None,
    ) -> None:
        if store is None:
            if scenario is None:
                raise ValueError("give a scenario or a store")
            store = SandboxStore.from_scenario(scenario)
        if faults is None:
            faults = FaultPlan.from_env()
        elif isinstance(faults, str):
            faults = FaultPlan.parse(faults, getattr(scenario, "seed", 7))
        self.scenario = scenario
        self.store = store
        #: Pushes every change of the store to orderhub's receivers (None: no push).
        self.pusher = pusher
        if pusher is not None:
            store.listeners.append(pusher.push)
            store.deletion_listeners.append(pusher.push_deletion)
        self.host = host
        #: The faults this server injects, and what injecting them did.
        self.faults = faults
        #: The OAuth token issuers of the CRM and the WMS.
        self.issuers = token_issuers(credentials, token_ttl)
        #: The round of the scenario served (``advance()`` moves it on).
        self.rounds = Rounds(scenario, store)
        self.app = build_app(store, credentials, faults, self.issuers, self.rounds)
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._foreground = False

    # ---------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        """The bound port (binds the socket on first use)."""
        return int(self._bind().getsockname()[1])

    @property
    def root_url(self) -> str:
        """``http://<host>:<port>``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def base_url(self, system: str) -> str:
        """A connector's ``base_url`` for ``system``: ``http://<host>:<port>/<system>``."""
        if system not in API_SYSTEMS:
            raise ValueError(f"unknown system {system!r}; expected one of {API_SYSTEMS}")
        return f"{self.root_url}/{system}"

    # ---------------------------------------------------------------- lifecycle

    def _bind(self) -> socket.socket:
        with self._lock:
            return self._bind_locked()

    def _bind_locked(self) -> socket.socket:
        if self._socket is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self._requested_port))
            except OSError as exc:
                sock.close()
                where = f"{self.host}:{self._requested_port}"
                raise OSError(
                    exc.errno, f"sandbox cannot listen on {where}: {exc.strerror}"
                ) from exc
            sock.set_inheritable(True)
            self._socket = sock
        return self._socket

    def _uvicorn(self) -> uvicorn.Server:
        if self._server is not None:
            raise RuntimeError("this sandbox server has already been started")
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        return self._server

    def start(self, timeout: float = 15.0) -> SandboxServer:
        """Serve in a background thread; return once the server accepts connections."""
        sock = self._bind()
        server = self._uvicorn()
        if self.pusher is not None:
            self.pusher.start()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="orderhub-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox server stopped while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the sandbox server did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and release the port (safe to call twice)."""
        if self._server is not None:
            self._server.should_exit = True
        if self.pusher is not None:
            self.pusher.stop()
            self.pusher = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._foreground:
            return  # serve_forever releases the socket once uvicorn has shut down
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C or SIGTERM in the main thread)."""
        sock = self._bind()
        server = self._uvicorn()
        self._foreground = True
        try:
            server.run(sockets=[sock])
        finally:
            self._foreground = False
            self.stop()

    @property
    def running(self) -> bool:
        """Whether the background server is up."""
        return bool(self._server and self._server.started and self._thread is not None)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
