"""SAP OData V2 date-times, and the ISO cursor the ERP connector derives from them.

SAP S/4HANA's OData V2 services write an ``Edm.DateTimeOffset`` as ``/Date(<ms>+0000)/`` and
an ``Edm.DateTime`` as ``/Date(<ms>)/``: milliseconds since the epoch, UTC (the offset only
names the zone it was written in). airbyte-cdk's incremental cursor parses strptime formats
(or a bare ``%ms``) and cannot read them, so the ERP manifest's ``AddFields`` transformation
writes, beside SAP's own ``LastChangeDateTime`` (kept as sent: staging parses it with the
``odata_datetime`` macro), :data:`ERP_CURSOR`: the same instant as ISO 8601 UTC with
milliseconds (``2026-10-03T14:05:09.000Z``). The connector's cursor, its state, the raw
table's ``cursor_value`` and the change probe read that field.

:func:`iso_utc` is the same conversion in Python: :mod:`connectors.launch` builds the ERP
manifest's ``AddFields`` as a call to it (the template costs ~60 µs a record), and the records
that reach the loader without passing through the connector (a pushed business event, a
fixture) get the field from it too:
:meth:`connectors.catalog.StreamSpec.as_read` adds the field to them, so a record pushed
and later polled is one content hash. ``tests/connectors/test_manifests.py`` checks that the
manifest's template and this function write the same text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

#: The field the ERP connector derives from SAP's ``LastChangeDateTime``: its cursor.
ERP_CURSOR = "LastChangeDateTime_utc"
#: OData V2 JSON's date-time literal (the manifest's template matches the same).
ODATA_DATETIME = re.compile(r"^/Date\((-?[0-9]+)(?:[+-][0-9]{4})?\)/$")
#: ISO 8601 text the conversion also accepts (a service writing ISO instead of ``/Date()/``).
ISO_DATETIME = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?)$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an OData V2 ``/Date()/`` literal or ISO 8601 text
    (naive counts as UTC; finer than a millisecond is cut off), None for anything else."""
    if not isinstance(value, str):
        return None
    found = ODATA_DATETIME.match(value)
    if found:
        return int(found[1])
    if not ISO_DATETIME.match(value):
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def odata_datetime(text: str) -> str | None:
    """ISO 8601 ``text`` as SAP writes an ``Edm.DateTimeOffset`` in OData V2 JSON,
    ``/Date(<ms>+0000)/`` (None when it is no ISO 8601 date-time)."""
    ms = epoch_ms(text)
    return None if ms is None or ODATA_DATETIME.match(text) else f"/Date({ms}+0000)/"


#: Each day's ``YYYY-MM-DDT`` as :func:`iso_utc` has written it (days since the epoch).
_DAYS: dict[int, str] = {}
_KEPT_DAYS = 100_000


def iso_utc(value: Any) -> str | None:
    """``value`` (see :func:`epoch_ms`) as ISO 8601 UTC with milliseconds, or None: the
    date as ``strftime`` writes it (once a day, kept), the time of day from the digits
    (the ERP's cursor, written for every record)."""
    ms = epoch_ms(value)
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    day, rest = divmod(seconds, 86400)
    date = _DAYS.get(day)
    if date is None:
        date = f"{_EPOCH + timedelta(days=day):%Y-%m-%dT}"
        if len(_DAYS) < _KEPT_DAYS:
            _DAYS[day] = date
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{date}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"
