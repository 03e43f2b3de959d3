"""The tracking site served by uvicorn in a thread of ``orderhub api``.

uvicorn installs no signal handlers outside the main thread, so ``orderhub api`` keeps the
stop signals to itself (:mod:`orderhub.processes`) and stops the site with :meth:`stop`.
"""

from __future__ import annotations

import threading
import time

import uvicorn

from orderhub.site.app import create_app
from orderhub.site.audit import AuditSource


class SiteError(RuntimeError):
    """The site could not start."""


class SiteServer:
    """The site on ``host:port``, for an API at ``api_url`` (with ``audit``, the tracking
    page also offers each order's audit bundle: :mod:`orderhub.site.audit`)."""

    def __init__(
        self, api_url: str, host: str, port: int, audit: AuditSource | None = None
    ) -> None:
        config = uvicorn.Config(
            create_app(api_url, audit=audit),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,
            lifespan="off",
        )
        self.url = f"http://{host}:{port}"
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="site", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self, timeout: float = 15.0) -> str:
        """Start serving; returns the site's URL once it accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SiteError(f"the tracking site did not start on {self.url}")
            time.sleep(0.05)
        return self.url

    def stop(self, grace: float = 4.0) -> None:
        """Stop serving: let open requests finish for up to ``grace`` seconds."""
        self._server.should_exit = True
        self._thread.join(grace)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(1.0)
