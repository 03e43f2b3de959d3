"""``SandboxProcess.start`` waits as long as the sandbox keeps printing, and stops one that
goes silent with an error saying so (what the sandbox prints while it prepares:
tests/sandbox/test_sandbox_preparing.py)."""

from __future__ import annotations

import sys
import time

import pytest

from orderhub.cli.sandbox import READY_PREFIX, SandboxProcess


def _python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def test_a_sandbox_that_keeps_printing_may_take_longer_than_the_timeout() -> None:
    code = (
        "import time\n"
        "for n in range(16):\n"
        "    print(f'sandbox preparing: step {n}', flush=True); time.sleep(0.25)\n"
        f"print('{READY_PREFIX}http://127.0.0.1:9', flush=True)\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    sandbox = SandboxProcess(_python(code), start_timeout=3.0).start()
    try:
        assert time.monotonic() - started > 3.5  # longer than the timeout, never silent for it
        assert sandbox.root_url == "http://127.0.0.1:9"
    finally:
        sandbox.stop(timeout=1)


def test_a_silent_sandbox_is_stopped_with_an_error_that_says_so() -> None:
    code = "import time\nprint('sandbox preparing: one line', flush=True)\ntime.sleep(60)\n"
    sandbox = SandboxProcess(_python(code), start_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"printed nothing for 2 s while starting"):
        sandbox.start()
    assert time.monotonic() - started < 20


def test_a_sandbox_that_fails_says_why() -> None:
    code = "import sys\nprint('error: port in use', file=sys.stderr)\nsys.exit(2)\n"
    with pytest.raises(RuntimeError, match=r"the sandbox did not start: error: port in use"):
        SandboxProcess(_python(code), start_timeout=30).start()
