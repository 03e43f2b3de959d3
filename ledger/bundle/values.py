"""How a derivation spec reads a record: JSON values as text, times, and event ids.

A derivation spec (:mod:`ledger.bundle.derive`) says where a record keeps each value with
small expressions over its JSON, evaluated here exactly as the warehouse's SQL reads the
same record (``docs/audit-bundle.md``, "Reading a record"):

- ``{"path": [key or index, ...]}``: the value at that path as text, as PostgreSQL's
  ``->>`` gives it: a string as itself, a number in plain decimal notation (never an
  exponent), ``true``/``false``, an object or array as PostgreSQL writes jsonb; null when
  the path is missing, crosses a non-container, or holds JSON null. With ``"only": TYPE``
  the value must be of that JSON type (``string``, ``number``, ``boolean``, ``object``,
  ``array``), else null; with ``"empty": X`` an empty string becomes ``X`` (null or a
  text); with ``"missing": X`` a null becomes ``X``;
- ``{"value": TEXT}``: a constant; ``{"concat": [e, ...]}``: the texts joined, null when
  one is null; ``{"coalesce": [e, ...]}``: the first that is not null;
  ``{"ref": NAME}``: a record attribute evaluated before (``order_ref``);
- ``{"if_contains": e, "text": T, "then": A, "else": B}``: ``A`` when ``e`` contains
  ``T`` (case-sensitive), else ``B`` (also when ``e`` is null);
- ``{"first": [key or index, ...], "of": e}``: over the array at that path, in its order,
  the first item whose ``e`` is not null (null when none, or when it is no array).

Times are cast as PostgreSQL casts ISO 8601 text to ``timestamptz`` (:func:`parse_time`,
no offset read as UTC) and written back as ISO 8601 UTC with microseconds
(:func:`iso_utc`). An event id is the lowercase hex MD5 of its parts joined by ``|``,
null parts left out (:func:`event_id`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.bundle.format import BundleError
from ledger.canonical import canonical_json

Expr = Mapping[str, Any]

_TIME = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
#: OData V2 JSON's date-time literal: milliseconds since the epoch (UTC); an offset after
#: them only names the zone the writer was in (SAP writes Edm.DateTimeOffset this way)
_ODATA_TIME = re.compile(r"^/Date\((-?[0-9]+)(?:[+-][0-9]{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON_TYPES = {"string": str, "boolean": bool, "object": Mapping, "array": list}


def json_type(value: Any) -> str:
    """The JSON type name of a parsed JSON value (``null`` for None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    for name, kind in _JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    raise BundleError(f"{value!r} is not a JSON value")


def plain_number(value: int | float) -> str:
    """A JSON number as PostgreSQL's numeric writes it: plain decimal, no exponent."""
    text = canonical_json(value).decode()
    return format(Decimal(text), "f")


def _jsonb_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def jsonb_text(value: Any) -> str:
    """A JSON value as PostgreSQL writes jsonb: ``", "`` and ``": "`` between members, object
    keys by length, then bytewise."""
    kind = json_type(value)
    if kind == "null":
        return "null"
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "number":
        return plain_number(value)
    if kind == "string":
        return _jsonb_string(value)
    if kind == "array":
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
    return "{" + ", ".join(f"{_jsonb_string(k)}: {jsonb_text(value[k])}" for k in keys) + "}"


def as_text(value: Any) -> str | None:
    """What PostgreSQL's ``->>`` gives for a JSON value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return jsonb_text(value)


def at_path(data: Any, path: Sequence[Any]) -> Any:
    """The JSON value at ``path`` (keys of objects, indexes of arrays), or None."""
    value = data
    for step in path:
        if isinstance(value, Mapping) and isinstance(step, str):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and not isinstance(step, bool):
            value = value[step] if -len(value) <= step < len(value) else None
        else:
            return None
    return value


def evaluate(expr: Expr, data: Any, refs: Mapping[str, str | None] | None = None) -> str | None:
    """The text an expression of a derivation spec reads from ``data`` (see the module)."""
    if "path" in expr:
        value = at_path(data, expr["path"])
        if "only" in expr and json_type(value) != expr["only"]:
            value = None
        text = as_text(value)
        if text == "" and "empty" in expr:
            text = expr["empty"]
        if text is None and "missing" in expr:
            text = expr["missing"]
        return text
    if "value" in expr:
        return None if expr["value"] is None else str(expr["value"])
    if "concat" in expr:
        parts = [evaluate(e, data, refs) for e in expr["concat"]]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p)
    if "coalesce" in expr:
        return next(
            (t for e in expr["coalesce"] if (t := evaluate(e, data, refs)) is not None), None
        )
    if "ref" in expr:
        return (refs or {}).get(expr["ref"])
    if "if_contains" in expr:
        text = evaluate(expr["if_contains"], data, refs)
        return expr["then"] if text is not None and expr["text"] in text else expr["else"]
    if "first" in expr:
        items = at_path(data, expr["first"])
        for item in items if isinstance(items, list) else []:
            text = evaluate(expr["of"], item, refs)
            if text is not None:
                return text
        return None
    raise BundleError(f"spec: unknown expression {dict(expr)!r}")


def _rint(x: float) -> int:
    """Round half to even, as C's rint() in the default rounding mode."""
    return round(x)


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 text as PostgreSQL casts it to ``timestamptz`` (no offset: UTC), or an
    OData V2 ``/Date(<ms>)/`` literal as the staging models read it, or None.

    Fractions of a second are rounded to microseconds (half to even). Raises BundleError
    for text this reading does not accept.
    """
    if text is None:
        return None
    odata = _ODATA_TIME.match(text)
    if odata is not None:
        return _EPOCH + timedelta(milliseconds=int(odata[1]))
    found = _TIME.match(text)
    if found is None:
        raise BundleError(
            f"time {text!r} is neither ISO 8601 nor OData /Date()/ date-time text this spec reads"
        )
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    micro = _rint(float("0." + fraction) * 1_000_000) if fraction else 0
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), tzinfo=UTC,
        )  # fmt: skip
    except ValueError as exc:
        raise BundleError(f"time {text!r}: {exc}") from None
    moment += timedelta(microseconds=micro)
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment -= offset if zone[0] == "+" else -offset
    return moment


def iso_utc(moment: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (what the warehouse hashes into ids)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise BundleError(f"time {moment!r} has no time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_iso_utc(text: Any, item: str) -> datetime:
    """A time written by :func:`iso_utc` (a bundle's own times), or BundleError naming ``item``."""
    if not isinstance(text, str):
        raise BundleError(f"{item}: {text!r} is not a time")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise BundleError(f"{item}: {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ") from None


def event_id(parts: Sequence[str | None]) -> str:
    """Hex MD5 of the UTF-8 parts joined by ``|``, null parts left out (``concat_ws``)."""
    return hashlib.md5("|".join(p for p in parts if p is not None).encode()).hexdigest()
