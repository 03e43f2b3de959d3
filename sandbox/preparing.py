"""What the sandbox says while it prepares a large world: a line per phase, and every
``interval`` seconds a line that it is still at it.

Generating a scenario and building its stores takes about 20 s at 100,000 orders and
minutes at a million; a parent that waits for the sandbox's ready line (``orderhub demo``)
stops waiting when the sandbox prints nothing for a while, so a long preparation must
keep saying that it goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds between two "still preparing" lines.
INTERVAL = 10.0


class Preparing:
    """The phase the sandbox is in, said when it starts and every ``interval`` seconds."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._phase = ""
        self._since = time.monotonic()
        self._started = self._since
        self._done = threading.Event()
        self._lock = threading.Lock()

    def phase(self, text: str) -> None:
        """Start phase ``text`` (a line now, then one every ``interval`` s while it lasts)."""
        with self._lock:
            self._phase, self._since = text, time.monotonic()
        self._say(f"{text} ...")

    def _say(self, line: str) -> None:
        print(f"sandbox preparing: {line}", flush=True)

    def _beat(self) -> None:
        while not self._done.wait(self.interval):
            with self._lock:
                phase, since = self._phase, self._since
            now = time.monotonic()
            self._say(f"{phase}: {now - since:.0f} s so far ({now - self._started:.0f} s in all)")

    @contextmanager
    def running(self) -> Iterator[Preparing]:
        """Say the phases while the block runs; stop when it ends."""
        beat = threading.Thread(target=self._beat, name="sandbox-preparing", daemon=True)
        beat.start()
        try:
            yield self
        finally:
            self._done.set()
            beat.join()


__all__ = ["INTERVAL", "Preparing"]
