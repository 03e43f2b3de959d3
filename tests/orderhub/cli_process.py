"""Run ``orderhub`` as a user runs it: ``python -m orderhub.cli`` in its own process, with a
fresh ``ORDERHUB_HOME`` under the test's folder and no other ``ORDERHUB_*`` variable; and
the processes it left running, read from ``/proc``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from orderhub.warehouse import free_port

CLI = (sys.executable, "-m", "orderhub.cli")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without ``ORDERHUB_*``, pointed at ``home``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    return {**env, "ORDERHUB_HOME": str(home), **extra}


def orderhub(
    tmp_path: Path, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """``orderhub ARGS`` run to its end from ``tmp_path`` with home ``tmp_path/home``."""
    return subprocess.run(
        [*CLI, *args],
        env=cli_env(tmp_path / "home", **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


#: The line ``orderhub sandbox`` prints once it accepts connections (``sandbox/__main__.py``).
SANDBOX_READY = "sandbox serving on "


def wait_for_sandbox(process: subprocess.Popen[str], timeout: float = 60) -> tuple[str, list[str]]:
    """Read a started ``orderhub sandbox``'s output until it serves: (root URL, lines before).

    Fails the test, with what the sandbox printed, when it exits or stays silent too long.
    """
    import threading

    import pytest

    assert process.stdout is not None
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    lines: list[str] = []
    try:
        for line in process.stdout:
            if line.startswith(SANDBOX_READY):
                return line.removeprefix(SANDBOX_READY).strip(), lines
            lines.append(line.rstrip("\n"))
    finally:
        timer.cancel()
    _, err = process.communicate()
    pytest.fail(f"orderhub sandbox did not start (exit {process.returncode}): {lines} {err}")


def wait_until_answers(
    process: subprocess.Popen[str],
    url: str,
    timeout: float,
    what: str,
    answered: Callable[[int], bool] = lambda status: status == 200,
) -> None:
    """Poll ``url`` until its status is ``answered``; fail naming ``what``, with the
    process's output, if the process exits first or ``timeout`` seconds pass (it is killed)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if answered(httpx.get(url, timeout=2).status_code):
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate()
            raise AssertionError(f"{what} did not come up at {url}: {output}"[-3000:])
        time.sleep(0.3)


@contextlib.contextmanager
def served_api(env: dict[str, str], port: int, timeout: float = 60) -> Iterator[tuple[str, str]]:
    """``orderhub api --port PORT`` started as a user starts it, with ``env``: (its base URL,
    an analyst token minted by ``orderhub token issue``) once it answers; SIGINT after. Its
    tracking site takes a free port too, so tests running side by side do not collide."""
    process = subprocess.Popen(
        [*CLI, "api", "--port", str(port), "--site-port", str(free_port())],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(process, f"{base}/", timeout, "orderhub api")
        # read as an analyst does: with a token minted by the CLI (anonymous callers see nothing)
        minted = subprocess.run(
            [*CLI, "token", "issue", "--role", "analyst", "--ttl", "1h"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        yield base, minted.stdout.strip()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _live_processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process that is not a zombie."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = (entry / "stat").read_text().split(")")[-1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                yield int(entry.name), int(fields[1]), command


def processes_naming(text: str) -> list[int]:
    """Pids of the processes whose command line contains ``text``."""
    return [pid for pid, _, command in _live_processes() if text in command]


def children(pid: int) -> list[int]:
    """Pids of the live children of ``pid``."""
    return [child for child, parent, _ in _live_processes() if parent == pid]


def descendants(pid: int) -> list[str]:
    """The command lines of every live process under ``pid``."""
    processes = list(_live_processes())
    found: list[str] = []
    parents = {pid}
    while parents:
        below = [(child, command) for child, parent, command in processes if parent in parents]
        found += [command for _, command in below]
        parents = {child for child, _ in below}
    return found
