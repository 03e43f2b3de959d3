"""Long-running commands and their children: stop cleanly on SIGTERM and SIGINT.

A process supervisor (systemd, Kubernetes, supervisord) stops a service with SIGTERM and
expects it gone within its grace period (10 s here); a terminal sends SIGINT. Both mean
the same to orderhub's long-running commands (``orderhub api``, ``ui``, ``mlflow``):
:class:`StopSignals` turns them into an event (its handler only sets the event: nothing
that can block runs inside a signal handler), the command's main loop sees it, and
:func:`stop_process` stops each child by polling it (never by waiting on the process
object another thread may be waiting on), killing it after a grace period.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from types import FrameType, TracebackType
from typing import Any

#: The signals that stop a long-running command.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """While entered (in the main thread), SIGTERM and SIGINT set :attr:`requested`."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        self.requested.set()

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def stop_process(
    process: subprocess.Popen[Any], grace: float = 5.0, stop_signal: int = signal.SIGTERM
) -> int:
    """Send ``stop_signal`` to ``process``, poll until it exits, SIGKILL it after ``grace``
    seconds; its exit code. Safe while another thread waits on the process."""
    if process.poll() is None:
        process.send_signal(stop_signal)
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        while process.poll() is None:
            time.sleep(0.05)
    return int(process.returncode)


def run_child(
    command: list[str], *, stop_signal: int = signal.SIGTERM, grace: float = 8.0, **popen: Any
) -> int:
    """Run ``command`` in the foreground until it exits or this process is asked to stop
    (SIGTERM or SIGINT), then stop it with ``stop_signal`` (SIGKILL after ``grace`` s).
    Returns its exit code (0 when it stopped because we were asked to)."""
    with StopSignals() as stop:
        # its own session: a terminal's Ctrl-C reaches it once, through us
        process = subprocess.Popen(command, start_new_session=True, **popen)
        while process.poll() is None and not stop.requested.wait(0.2):
            pass
        if stop.requested.is_set():
            stop_process(process, grace, stop_signal)
            return 0
        return int(process.returncode)
