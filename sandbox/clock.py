"""Time in the sandbox: whole seconds since the epoch, shown as ISO 8601 UTC with ``Z``.

Every timestamp a sandbox API emits has the form ``2026-10-03T14:05:09Z``, but the WMS's,
which are Odoo's ``2026-10-03 14:05:09`` (UTC); within one system all share one form, so
comparing the strings compares the instants.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from functools import lru_cache

#: The timestamp form the sandbox emits (Odoo's own form aside, see :func:`odoo`).
ISO_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
#: Odoo's datetime form on its external API: UTC, no zone, a space before the time.
ODOO_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))


def iso(seconds: int) -> str:
    """``seconds`` since the epoch as ``YYYY-MM-DDTHH:MM:SSZ``."""
    day, rest = divmod(int(seconds), 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day(day)}{hour:02d}:{minute:02d}:{second:02d}Z"


def odoo(seconds: int) -> str:
    """``seconds`` since the epoch as Odoo writes a datetime: ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return iso(seconds)[:-1].replace("T", " ")


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch of an aware ``datetime`` (naive counts as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    """An aware UTC ``datetime`` for ``seconds`` since the epoch."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_instant(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 instant (``Z``, an offset, or naive = UTC).

    Raises ``ValueError`` when ``text`` is not an ISO 8601 date or date-time.
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def lower_bound(text: str) -> str:
    """The sandbox timestamp a ``>= text`` filter starts at (fractions round up).

    Records carry whole seconds, so ``>= 10:00:00.5`` is the same filter as
    ``>= 10:00:01``. Raises ``ValueError`` for text that is not an instant.
    """
    seconds = math.ceil(parse_instant(text))
    return iso(max(seconds, 0))
