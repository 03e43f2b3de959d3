"""How fresh each asset group must be, once: its freshness policy in the UI and the stale
asset sensor (:mod:`orchestration.sensors`) read the same windows.

The schedule runs the flow every 15 minutes, so the raw tables, the canonical model, the
published api views and the checkpoint warn after 30 minutes and fail after an hour; the
forecast and the fulfilment decisions made with it are daily products and fail after 26
hours.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import FreshnessPolicy

#: group name -> (warn after, fail after)
WINDOWS: dict[str, tuple[timedelta, timedelta]] = {
    "connectors": (timedelta(minutes=30), timedelta(hours=1)),
    "canonical_model": (timedelta(minutes=30), timedelta(hours=1)),
    "api": (timedelta(minutes=30), timedelta(hours=1)),
    "ledger": (timedelta(minutes=30), timedelta(hours=1)),
    "forecast": (timedelta(hours=25), timedelta(hours=26)),
    "fulfilment": (timedelta(hours=25), timedelta(hours=26)),
}


def policy(group: str) -> FreshnessPolicy:
    """The freshness policy of the assets of ``group``."""
    warn, fail = WINDOWS[group]
    return FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)
