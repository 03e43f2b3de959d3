"""The connector's operating-system process: started to die with its parent, read through a
wide pipe, stopped gracefully.

A connector whose parent is gone must not go on paging the source to the end: nobody reads
its records, and it keeps loading the source (and, with ``change`` at the source, keeps
moving). :func:`start` asks Linux to kill the child when the thread that started it dies
(``PR_SET_PDEATHSIG``, set between fork and exec); a parent killed with SIGKILL takes its
connector with it. Elsewhere the connector stays in its parent's process group, so a signal
to the group (Ctrl-C, a supervisor) still reaches it.

A connector that has finished ends at once (:func:`end_now`, called by
``python -m connectors.launch``): its messages flushed, its logging shut down, then
``os._exit``. Python's own teardown after a read (joining the idle thread pool, freeing
every module airbyte-cdk imported, thousands of pydantic and dataclass types) took 0.2-0.6 s,
which the sync waited for before it could finish: a third of a quiet sync. A connector
that failed ends the usual way (its traceback on stderr).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

#: Bytes the connector may write ahead of the reader (Linux default pipes hold 64 KiB, about
#: a hundred records: the connector would stall whenever the loader writes to the warehouse).
PIPE_BYTES = 1 << 20
#: ``prctl`` option: the signal a process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def _death_signal() -> Callable[[], None] | None:
    """A function for the forked child, before exec, that makes it die with its parent
    (None where Linux's ``prctl`` is not available)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return die_with_parent


def start(
    arguments: Sequence[str], folder: Path, stderr: IO[bytes], env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Start the connector in ``folder``: stdout piped (and widened), stderr to ``stderr``."""
    process = subprocess.Popen(
        list(arguments),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=folder,
        env=dict(env),
        preexec_fn=_death_signal(),  # prctl and getppid only: no lock to deadlock on
    )
    assert process.stdout is not None
    _widen_pipe(process.stdout)
    return process


def _widen_pipe(stream: IO[bytes]) -> None:
    """Let the connector run ahead of the loader by up to ``PIPE_BYTES`` (Linux only)."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(stream.fileno(), set_size, PIPE_BYTES)


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Stop the connector: SIGTERM, then SIGKILL after ``grace`` seconds."""
    for ending in (process.terminate, process.kill):
        try:
            ending()
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def end_now(code: int) -> None:
    """Flush what the process wrote, shut its logging down and exit with ``code`` at once,
    without Python's teardown (nothing of it is needed once the output is out)."""
    import logging

    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()
    logging.shutdown()
    os._exit(code)
