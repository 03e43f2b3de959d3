"""Progress output for long work: short, timestamped lines on stderr-free stdout.

The demo and the CLI print through :func:`say`; Dagster runs print through
:class:`DagsterProgressHandler`, which turns step and check events into one line each.
"""

from __future__ import annotations

import logging
import sys
import time

_START = time.monotonic()


def say(message: str) -> None:
    """Print one progress line with the seconds since start."""
    print(f"[{time.monotonic() - _START:6.1f}s] {message}", file=sys.stdout, flush=True)


class DagsterProgressHandler(logging.Handler):
    """A logging handler for Dagster's run logger that prints what a person wants to see."""

    _EVENTS = {
        "STEP_START": "start",
        "STEP_SUCCESS": "done ",
        "STEP_FAILURE": "FAILED",
    }

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        if event is None:
            if record.levelno >= logging.INFO and step:
                say(f"  {step}: {record.getMessage().splitlines()[0][:160]}")
            return
        kind = event.event_type_value
        if kind in self._EVENTS:
            detail = ""
            if kind == "STEP_FAILURE" and event.step_failure_data:
                error = event.step_failure_data.error
                detail = f": {error.message.strip().splitlines()[0][:300]}" if error else ""
            say(f"{self._EVENTS[kind]} {step}{detail}")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            evaluation = getattr(data, "asset_check_evaluation", data)
            passed = getattr(evaluation, "passed", None)
            name = getattr(evaluation, "check_name", "?")
            key = getattr(evaluation, "asset_key", None)
            target = key.to_user_string() if key is not None else ""
            say(f"  check {target}:{name} {'passed' if passed else 'FAILED'}")
