"""Three of ``python -m connectors.launch``'s shortcuts, on the path every record takes
(:func:`install`, before airbyte-cdk reads anything).

- ``StreamSlice.__hash__``, a SHA-256 of the slice's ``json.dumps``, which airbyte-cdk's
  concurrent cursor takes for every record it observes (about 10 µs), is kept on a slice of
  plain values while its contents stay equal (:func:`slice_hash`).
- ``ConcurrentCursor.should_be_synced`` (the TMS's client-side filter) asks its end provider,
  ``now()`` unless an end date is configured, for every record (about 1.5 µs): here a record
  whose cursor value is at or below the end provider's last answer is within it without
  asking again (:func:`should_be_synced`), as now only moves on; a record beyond it asks
  (and the answer is kept). The one difference: a wall clock set back while a read runs is
  seen at the next record beyond the last answer, not at once.
- A RECORD message is written without serpyco_rs (:func:`message_to_string`):
  ``AirbyteEntrypoint.airbyte_message_to_string`` turns every message into a dict with the
  protocol's serializer and then writes it with orjson (about 6 µs a tracker, most of it the
  serializer copying the record). For a RECORD holding only its stream, a dict of data and
  its ``emitted_at`` (no namespace, meta or file reference), the same text is written from
  the fields directly: ``{"type":"RECORD","record":{"stream":..,"data":..,"emitted_at":..}}``
  with the data's top-level null members left out, as the serializer leaves them out (about
  3 µs). Any other message, and a record orjson cannot write, goes to airbyte-cdk's own
  function. ``tests/connectors/test_launch.py`` compares both on records of every shape.
"""

from __future__ import annotations

from typing import Any

import orjson

#: airbyte-cdk's own functions the shortcuts fall back on, kept when first needed.
_ORIGINAL: dict[str, Any] = {}
#: Where a stream slice keeps its hash with the contents it was computed from.
_HASHED = "_orderhub_hash"
#: The value types a slice's hash is kept for: compared by type and value, they serialize alike.
_FLAT = frozenset({str, int, float, bool, type(None)})
_KEYS = frozenset({str})
#: The optional members of a RECORD message the direct writing requires to be absent.
_RECORD_FIELDS = ("namespace", "meta", "file_reference")


def slice_hash(self: Any) -> int:
    """``StreamSlice.__hash__``, kept on the slice while its contents stay the same.

    The concurrent cursor looks a record's slice up in a dict for every record, and a slice's
    hash is a SHA-256 of its ``json.dumps`` (about 10 µs). For string keys and string, number,
    boolean or None values, the hash is kept with the keys, values and their types, and given
    again while all are equal (compared as tuples); any other slice is hashed as before."""
    contents = self._stream_slice
    keys, values = tuple(contents), tuple(contents.values())
    kinds = (*map(type, keys), *map(type, values))
    kept = self.__dict__.get(_HASHED)
    if kept is not None and kept[0] == keys and kept[1] == values and kept[2] == kinds:
        hashed: int = kept[3]
        return hashed
    if not (_KEYS.issuperset(kinds[: len(keys)]) and _FLAT.issuperset(kinds[len(keys) :])):
        result: int = _ORIGINAL["StreamSlice.__hash__"](self)
        return result
    value: int = _ORIGINAL["StreamSlice.__hash__"](self)
    self.__dict__[_HASHED] = (keys, values, kinds, value)
    return value


#: Where a cursor keeps its end provider's last answer.
_END = "_orderhub_end"


def should_be_synced(self: Any, record: Any) -> bool:
    """``ConcurrentCursor.should_be_synced``, the end provider asked only for a record beyond
    its last answer."""
    try:
        value = self._extract_cursor_value(record)
    except ValueError:
        self._log_for_record_without_cursor_value()
        return True
    if not self._lowest_cursor_value_to_sync() <= value:
        return False
    end = self.__dict__.get(_END)
    if end is not None and value <= end:
        return True
    end = self._end_provider()
    self.__dict__[_END] = end
    return bool(value <= end)


def cursor_class() -> Any:
    """airbyte-cdk's ``ConcurrentCursor`` (imported on first use)."""
    from airbyte_cdk.sources.streams.concurrent.cursor import ConcurrentCursor

    _ORIGINAL.setdefault("should_be_synced", ConcurrentCursor.should_be_synced)
    return ConcurrentCursor


def stream_slice_class() -> Any:
    """airbyte-cdk's ``StreamSlice``, its own ``__hash__`` kept aside (imported on first use:
    importing airbyte-cdk configures the importing process's logging)."""
    from airbyte_cdk.sources.types import StreamSlice

    _ORIGINAL.setdefault("StreamSlice.__hash__", StreamSlice.__hash__)
    return StreamSlice


def message_to_string(message: Any) -> str:
    """``AirbyteEntrypoint.airbyte_message_to_string``, a plain RECORD written directly."""
    record = message.record
    if (
        record is not None
        and message.type is _ORIGINAL["RECORD"]
        and type(record.data) is dict
        and type(record.stream) is str
        and type(record.emitted_at) is int
        and all(getattr(record, name) is None for name in _RECORD_FIELDS)
    ):
        data = record.data
        if None in data.values():
            data = {key: value for key, value in data.items() if value is not None}
        body = {"stream": record.stream, "data": data, "emitted_at": record.emitted_at}
        try:
            return orjson.dumps({"type": "RECORD", "record": body}).decode()
        except (TypeError, orjson.JSONEncodeError):
            pass  # what airbyte-cdk's serializer and json fallback make of it
    text: str = _ORIGINAL["airbyte_message_to_string"](message)
    return text


def entrypoint_class() -> Any:
    """airbyte-cdk's ``AirbyteEntrypoint``, its own ``airbyte_message_to_string`` kept aside."""
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.models import Type

    _ORIGINAL.setdefault("airbyte_message_to_string", AirbyteEntrypoint.airbyte_message_to_string)
    _ORIGINAL.setdefault("RECORD", Type.RECORD)
    return AirbyteEntrypoint


def install() -> None:
    """Make this process's airbyte-cdk use both (idempotent)."""
    stream_slice_class().__hash__ = slice_hash
    cursor_class().should_be_synced = should_be_synced
    entrypoint_class().airbyte_message_to_string = staticmethod(message_to_string)
