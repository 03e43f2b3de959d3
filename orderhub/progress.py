"""Progress output for long work: short, timestamped lines on stdout.

The demo and the CLI print through :func:`say`; Dagster runs print through
:class:`DagsterProgressHandler`, which turns step and check events into one line each;
:func:`dbt_output_summarised` keeps dbt's own per-node stream (which dagster-dbt echoes
to stdout) down to its summary and its problems.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import TextIO

_START = time.monotonic()

#: dbt lines worth showing on a terminal: the totals and anything that went wrong.
_DBT_KEPT = re.compile(r"Done\. PASS=|Finished running|\b(ERROR|FAIL|WARN)\b|Error|Failure")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _DbtStdoutFilter(io.TextIOBase):
    """A stdout stand-in that forwards only the dbt lines in ``_DBT_KEPT``."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            plain = _ANSI.sub("", line).strip()
            if plain and _DBT_KEPT.search(plain):
                self.target.write(f"[{time.monotonic() - _START:6.1f}s]   dbt: {plain}\n")
                self.target.flush()
        return len(text)

    def flush(self) -> None:
        self.target.flush()


def _terminal() -> TextIO:
    out = sys.stdout
    return out.target if isinstance(out, _DbtStdoutFilter) else out


@contextlib.contextmanager
def dbt_output_summarised() -> Iterator[None]:
    """While active, stdout shows dbt's summary and problems, not every node it ran."""
    with contextlib.redirect_stdout(_DbtStdoutFilter(sys.stdout)):
        yield


def say(message: str) -> None:
    """Print one progress line with the seconds since start."""
    print(f"[{time.monotonic() - _START:6.1f}s] {message}", file=_terminal(), flush=True)


#: Dagster's wrappers of an exception raised by user code (the exception is their cause).
_DAGSTER_WRAPPERS = frozenset(
    {
        "DagsterExecutionStepExecutionError",
        "DagsterExecutionHandleOutputError",
        "DagsterExecutionLoadInputError",
        "DagsterResourceFunctionError",
        "DagsterUserCodeExecutionError",
    }
)


def _is_wrapper(error: object) -> bool:
    """Whether a Dagster error info describes Dagster's wrapper of a user exception."""
    return getattr(error, "cls_name", None) in _DAGSTER_WRAPPERS


class DagsterProgressHandler(logging.Handler):
    """A logging handler for Dagster's run logger that prints what a person wants to see."""

    _EVENTS = {
        "STEP_START": "start",
        "STEP_SUCCESS": "done ",
        "STEP_FAILURE": "FAILED",
    }

    def __init__(self) -> None:
        super().__init__()
        self._passed: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        if event is None:
            if record.levelno >= logging.INFO and step:
                message = str(meta.get("orig_message") or record.getMessage())
                say(f"  {step}: {message.strip().splitlines()[0][:160]}")
            return
        kind = event.event_type_value
        if kind in self._EVENTS:
            detail = ""
            if kind == "STEP_SUCCESS" and self._passed.get(step):
                detail = f" ({self._passed.pop(step)} checks passed)"
            if kind == "STEP_FAILURE" and event.step_failure_data:
                error = event.step_failure_data.error
                # Dagster wraps the step's own exception ("Error occurred while executing
                # op ..."); the line names the exception the step raised.
                while error is not None and error.cause is not None and _is_wrapper(error):
                    error = error.cause
                detail = f": {error.message.strip().splitlines()[0][:300]}" if error else ""
            say(f"{self._EVENTS[kind]} {step}{detail}")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            evaluation = getattr(data, "asset_check_evaluation", data)
            if getattr(evaluation, "passed", False):
                self._passed[step] = self._passed.get(step, 0) + 1
                return
            name = getattr(evaluation, "check_name", "?")
            key = getattr(evaluation, "asset_key", None)
            target = key.to_user_string() if key is not None else ""
            severity = getattr(getattr(evaluation, "severity", None), "value", "ERROR")
            outcome = "FAILED" if severity != "WARN" else "WARNING (non-blocking)"
            description = str(getattr(evaluation, "description", "") or "").strip()
            reason = f": {description.splitlines()[0][:200]}" if description else ""
            say(f"  check {target}:{name} {outcome}{reason}")
