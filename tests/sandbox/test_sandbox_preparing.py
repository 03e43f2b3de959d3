"""The sandbox says each phase of its preparation, and that it goes on, while it lasts."""

from __future__ import annotations

import subprocess
import sys


def test_the_sandbox_says_each_phase_and_that_it_goes_on() -> None:
    code = (
        "import time\n"
        "from sandbox.preparing import Preparing\n"
        "with Preparing(interval=0.2).running() as preparing:\n"
        "    preparing.phase('generating')\n"
        "    time.sleep(0.7)\n"
    )
    lines = subprocess.run(
        [sys.executable, "-u", "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    assert lines[0] == "sandbox preparing: generating ..."
    assert len(lines) >= 3, lines  # the phase, then at least two "so far" lines
    assert all(line.startswith("sandbox preparing: generating: ") for line in lines[1:])
