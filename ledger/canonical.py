"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value.

The bytes come from the ``rfc8785`` package, the reference, for every value it is
asked about. It is pure Python (about 30 µs for a provenance event, most of an
append's cost), so a value that ``orjson`` with sorted keys writes exactly as RFC 8785
goes through ``orjson`` instead: one holding no float (ECMAScript number formatting
differs), no integer outside ±(2**53 - 1) and no object key beyond the Basic
Multilingual Plane (RFC 8785 sorts keys by UTF-16 code units, orjson by code points;
they agree inside the BMP); string escaping is the same in both. A property test
compares the two on generated values.

Anything RFC 8785 (and I-JSON, RFC 7493) cannot represent is refused with the path
of the offending member: NaN and infinities, integers outside ±(2**53 - 1),
non-string keys, strings that are not valid Unicode, and Python types that are not
JSON (``Decimal``, ``datetime``, ``bytes``, sets, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import rfc8785

from ledger.errors import CanonicalJSONError

#: The largest integer magnitude I-JSON (RFC 7493 §2.2) can carry exactly.
MAX_SAFE_INTEGER = 2**53 - 1

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def _plain(value: Any, path: str) -> JSONValue:
    """``value`` as plain dicts/lists/scalars, or CanonicalJSONError naming ``path``."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise CanonicalJSONError(f"{path}: string is not valid Unicode ({exc})") from exc
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJSONError(
                f"{path}: integer {value} is outside ±(2**53 - 1); write it as a string"
            )
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJSONError(f"{path}: {value!r} is not a JSON number")
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(
                    f"{path}: object key {key!r} is a {type(key).__name__}, not a string"
                )
            out[key] = _plain(item, f"{path}.{key}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray | memoryview):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise CanonicalJSONError(
        f"{path}: {type(value).__name__} is not a JSON type "
        "(use str, int, float, bool, None, lists and string-keyed mappings)"
    )


_BMP_END = "\U00010000"


def _orjson_writes_it_canonically(value: Any) -> bool:
    """Whether ``orjson.dumps(value, OPT_SORT_KEYS)`` is the RFC 8785 form of ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or not (key.isascii() or max(key, default="") < _BMP_END):
                    return False
                stack.append(child)
            continue
        if kind is list:
            stack.extend(item)
            continue
        return False  # floats, tuples, mappings of other types: the reference decides
    return True


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj``.

    Raises :class:`~ledger.errors.CanonicalJSONError` naming the member (``$.a.b[2]``)
    that is not representable.
    """
    if _orjson_writes_it_canonically(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # e.g. a lone surrogate: the reference path names the member
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, AttributeError):
        pass  # find out which member is at fault (or convert other Mapping/Sequence types)
    plain = _plain(obj, "$")
    try:
        return rfc8785.dumps(plain)
    except rfc8785.CanonicalizationError as exc:  # pragma: no cover - _plain refuses first
        raise CanonicalJSONError(f"$: {exc}") from exc
