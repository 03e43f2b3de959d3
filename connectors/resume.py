"""Where a sync starts reading: the lookback measured from where the sync before it started.

airbyte-cdk's incremental cursor starts a read ``lookback_window`` before the cursor value its
state holds, and the state it emits holds the newest cursor value the read reached. Measured
from there, the lookback misses a write that lands behind the paging position while a sync
runs (a long transaction, a replica catching up): such a record carries a cursor value from
around the time the sync started, and a long sync moves its newest cursor value far past it.

So each committed state also keeps, under :data:`RESUME_KEY`, the cursor value the *next*
sync measures its lookback from: the cursor this sync started from (the one committed
before it, or the configured start date on a first sync), and never later than the moment
this sync started (a source clock running ahead, or one record dated in the future, cannot
carry the position past writes made after that moment). Every write made while this sync
ran has a cursor value at or after that point, less the lookback window, so the next sync
reads it. The price: each sync re-reads what the sync before it read, and the first sync
after the initial load re-reads the whole load (records read again are stored once).

:func:`resume_from` is that value, computed as a sync starts; :func:`connector_state` is
the state handed to the connector, whose cursor is the earlier of the committed cursor and
the stored resume point. A state written before the resume point existed resumes from its
cursor, as it always did.

airbyte-cdk writes the cursor of its state as the newest record's local time followed by
``Z`` (``DatetimeParser.format`` formats an aware datetime without converting it to UTC): a
server writing its timestamps in UTC+05:30 puts the state five and a half hours ahead of the
source, past every write of those hours. :class:`NewestCursor` keeps the newest cursor instant
among the records a sync read, and the state a sync commits holds the earlier of that, in UTC,
and the connector's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.catalog import StreamSpec

#: The key of a stream's stored state holding where the next sync's lookback is measured from.
RESUME_KEY = "lookback_from"
#: The form of every manifest's cursor values in its state (``datetime_format``).
STATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def cursor_instant(value: Any) -> datetime | None:
    """An aware datetime for an ISO 8601 cursor value (naive counts as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def earliest(*values: Any) -> str | None:
    """The earliest of ISO 8601 cursor values (those that are none are left out)."""
    known = [(moment, value) for value in values if (moment := cursor_instant(value)) is not None]
    return min(known, key=lambda pair: pair[0])[1] if known else None


def resume_from(
    stream: StreamSpec, stored: Mapping[str, Any], start_date: str, started_at: datetime
) -> str:
    """The cursor value the sync after this one measures its lookback from.

    ``stored`` is the stream's state committed before this sync (empty before the first),
    ``start_date`` the configured start, ``started_at`` when this sync started.
    """
    committed = stored.get(stream.cursor_field)
    began = utc(started_at)
    return earliest(committed if cursor_instant(committed) else start_date, began) or began


def connector_state(stream: StreamSpec, stored: Mapping[str, Any]) -> dict[str, Any] | None:
    """The state the connector reads ``stream`` from: its cursor, moved back to the stored
    resume point when that is earlier (None when nothing was committed yet)."""
    committed = stored.get(stream.cursor_field)
    if committed is None:
        return None
    return {stream.cursor_field: earliest(committed, stored.get(RESUME_KEY)) or committed}


def utc(moment: datetime) -> str:
    """``moment`` in the state's form, in UTC."""
    return moment.astimezone(UTC).strftime(STATE_FORMAT)


class NewestCursor:
    """The newest cursor instant among the records of one sync (values that are no ISO 8601
    date-time are passed over)."""

    def __init__(self, stream: StreamSpec) -> None:
        self.stream = stream
        self.newest: datetime | None = None

    def see(self, value: Any) -> None:
        moment = cursor_instant(value)
        if moment is not None and (self.newest is None or moment > self.newest):
            self.newest = moment

    def restate(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """``state`` with its cursor no later than the newest cursor read, in UTC."""
        if self.newest is None:
            return dict(state)
        cursor = earliest(state.get(self.stream.cursor_field), utc(self.newest))
        return {**state, self.stream.cursor_field: cursor or utc(self.newest)}
