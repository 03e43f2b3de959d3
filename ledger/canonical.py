"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value.

The bytes come from the ``rfc8785`` package, the reference, for every value it is
asked about. It is pure Python (about 30 µs for a provenance event, most of an
append's cost; about 7k tracker records/s when hashing raw records), so a value that
``orjson`` with sorted keys writes exactly as RFC 8785 goes through ``orjson`` instead:
one holding no integer outside ±(2**53 - 1), no object key beyond the Basic
Multilingual Plane (RFC 8785 sorts keys by UTF-16 code units, orjson by code points;
they agree inside the BMP) and only floats both write alike. ECMAScript writes an
integral float as an integer (``2.0`` is ``2``), so those are handed to orjson as
integers when exact (below 2**53); other floats take the fast path when their
magnitude is in [1e-5, 1e15); any other float sends the value to the reference.
String escaping is the same in both (checked for every control character, DEL,
U+2028/2029 and non-ASCII). Property tests compare the two on generated values.

The same bytes serve the ledger's leaves and the connectors' record content hashes
(:func:`canonical_hash`).

Anything RFC 8785 (and I-JSON, RFC 7493) cannot represent is refused with the path
of the offending member: NaN and infinities, integers outside ±(2**53 - 1),
non-string keys, strings that are not valid Unicode, and Python types that are not
JSON (``Decimal``, ``datetime``, ``bytes``, sets, ...).
"""

from __future__ import annotations

import hashlib
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

#: Floats whose magnitude is in [1e-5, 1e15) are written by ECMAScript and by orjson alike:
#: plain decimal notation, shortest round-trip digits (checked on 600k random floats).
_FLOAT_LOW = 1e-5
_FLOAT_HIGH = 1e15


class _NotFast(Exception):
    """The value needs the reference implementation."""


def _fast_float(item: float) -> int | float:
    """``item`` as orjson must be handed it to write what RFC 8785 writes, or _NotFast."""
    if item.is_integer():
        if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
            return int(item)  # ECMAScript: 2.0 -> "2"; -0.0 -> "0"
        raise _NotFast
    if _FLOAT_LOW <= abs(item) < _FLOAT_HIGH:
        return item
    raise _NotFast  # exponent notation, NaN, infinities: the reference decides


def _with_fast_floats(value: Any) -> Any:
    """A copy of ``value`` whose floats orjson writes as RFC 8785 does."""
    kind = type(value)
    if kind is float:
        return _fast_float(value)
    if kind is dict:
        return {key: _with_fast_floats(child) for key, child in value.items()}
    if kind is list:
        return [_with_fast_floats(child) for child in value]
    return value


def _orjson_form(value: Any) -> Any:
    """``value`` itself, or a copy with integral floats as ints, when ``orjson.dumps(value,
    OPT_SORT_KEYS)`` is its RFC 8785 form; ``_NotFast`` otherwise."""
    stack = [value]
    floats = False
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            raise _NotFast
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or not (key.isascii() or max(key, default="") < _BMP_END):
                    raise _NotFast
                stack.append(child)
            continue
        if kind is list:
            stack.extend(item)
            continue
        if kind is float:
            _fast_float(item)
            floats = True
            continue
        raise _NotFast  # tuples, mappings of other types: the reference decides
    return _with_fast_floats(value) if floats else value


def orjson_writes_it_canonically(value: Any) -> bool:
    """Whether the orjson fast path is exact for ``value``."""
    try:
        _orjson_form(value)
    except _NotFast:
        return False
    return True


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj``.

    Raises :class:`~ledger.errors.CanonicalJSONError` naming the member (``$.a.b[2]``)
    that is not representable.
    """
    try:
        form = _orjson_form(obj)
    except _NotFast:
        pass
    else:
        try:
            return orjson.dumps(form, option=orjson.OPT_SORT_KEYS)
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


def canonical_hash(obj: Any) -> str:
    """Hex SHA-256 of :func:`canonical_json` (a raw record's content hash)."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()
