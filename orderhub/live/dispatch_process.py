"""The dispatcher in a process of its own, supervised by ``orderhub serve``.

The dispatcher (:class:`orderhub.live.dispatch.Dispatcher`, a procrastinate worker) runs in
a child process, ``python -m orderhub.live.dispatch_process``, so its event loop does not
share one interpreter (and its GIL) with the receivers, the intake and the hot-path
workers (bench/RESULTS.md, "Live path": a change waited seconds between its outbox row
and its job being picked while they shared it).

:class:`DispatcherProcess` is one of the service's workers (a ``run(stop)`` callable): it
starts the child, and when the child exits unasked - a crash, a kill - it logs the exit
code, counts a restart and starts it again after :data:`RESTART_PAUSE`; nothing is lost,
since every delivery waits in the database until it is marked delivered (at-least-once:
a job running at the crash runs again). When the service stops, it stops the child with
SIGTERM and kills it after :data:`GRACE` seconds, within the service's 10 s.

The child reads the database URL from :data:`URL_ENV` (never its command line, which
``ps`` shows), runs in a session of its own (a terminal's Ctrl-C reaches it through the
service, once), stops on SIGTERM or SIGINT or when its parent is gone, and writes its
counters as a JSON line on stdout whenever they change; the supervisor adds them up in
:attr:`DispatcherProcess.counters`, which ``/metrics`` shows.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from typing import IO, Any

import orjson

from orderhub.processes import StopSignals, stop_process

LOGGER = logging.getLogger("orderhub.live.dispatch")
#: The environment variable the child reads its database URL from.
URL_ENV = "ORDERHUB_DISPATCH_DATABASE_URL"
#: Seconds the child has to stop before it is killed.
GRACE = 2.5
#: Seconds between a child's unasked exit and its restart.
RESTART_PAUSE = 1.0
#: Seconds between the child's looks at its counters and its parent.
REPORT_EVERY = 0.5
_COUNTED = ("delivered", "failed")


class DispatcherProcess:
    """Run the dispatcher in a supervised child process until ``stop`` is set."""

    def __init__(self, database_url: str, concurrency: int = 32) -> None:
        self.database_url = database_url
        self.concurrency = concurrency
        self.counters: dict[str, Any] = {"delivered": 0, "failed": 0, "restarts": 0, "pid": None}
        self._earlier = dict.fromkeys(_COUNTED, 0)  # the counts of the children before
        self._timed_before: dict[str, float] = {}  # the children's timings before

    def run(self, stop: threading.Event) -> None:
        """Start the child; start it again whenever it exits unasked; stop it at ``stop``."""
        while not stop.is_set():
            process = self._start()
            reader = threading.Thread(
                target=self._read, args=(process.stdout,), name="orderhub-dispatch-counters"
            )
            reader.start()
            while process.poll() is None and not stop.wait(0.2):
                pass
            code = stop_process(process, GRACE)
            reader.join(timeout=2)
            self._earlier = {key: self.counters[key] for key in _COUNTED}
            self._timed_before = {
                k: v for k, v in self.counters.items() if k not in (*_COUNTED, "restarts", "pid")
            }
            self.counters["pid"] = None
            if stop.is_set():
                return
            self.counters["restarts"] += 1
            LOGGER.error(
                "the dispatcher process %s exited with code %s; starting it again",
                process.pid,
                code,
            )
            stop.wait(RESTART_PAUSE)

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, URL_ENV: self.database_url}
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(self.concurrency)],
            env=env,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self.counters["pid"] = process.pid
        return process

    def _read(self, stream: IO[bytes] | None) -> None:
        """Add the child's counter lines to :attr:`counters` until it closes stdout."""
        if stream is None:
            return
        with stream:
            for line in stream:
                try:
                    counts = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                for key in _COUNTED:
                    self.counters[key] = self._earlier[key] + int(counts.get(key, 0))
                for key, value in counts.items():  # the timings (dispatch.TIMINGS), summed
                    if key not in _COUNTED and isinstance(value, int | float):
                        self.counters[key] = self._timed_before.get(key, 0) + value


def main(argv: list[str]) -> int:
    """The child: the dispatcher until SIGTERM, SIGINT or its parent's end."""
    from orderhub.live.dispatch import Dispatcher

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    concurrency = int(argv[0]) if argv else 32
    parent = os.getppid()
    dispatcher = Dispatcher(os.environ[URL_ENV], concurrency=concurrency)
    with StopSignals() as stop:
        worker = threading.Thread(
            target=dispatcher.run, args=(stop.requested,), name="orderhub-dispatch"
        )
        worker.start()
        reported: dict[str, int] = {}
        while worker.is_alive():
            if os.getppid() != parent:
                stop.requested.set()  # the service is gone: so are we
            if dispatcher.counters != reported:
                reported = dict(dispatcher.counters)
                try:
                    sys.stdout.buffer.write(orjson.dumps(reported) + b"\n")
                    sys.stdout.flush()
                except (BrokenPipeError, ValueError):
                    stop.requested.set()  # nobody reads us: the service is gone
            worker.join(REPORT_EVERY)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
