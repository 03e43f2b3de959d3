"""RFC 8785 (JSON Canonicalization Scheme) bytes and their SHA-256, fast.

The ``rfc8785`` package is the reference and the answer for every value it is asked about.
It is pure Python (about 7k tracker records/s here), so values it would write exactly as
``orjson`` with sorted keys does go through ``orjson`` instead: values holding no integer
outside ±(2^53 - 1) (RFC 8785 refuses them), no object key beyond the Basic Multilingual
Plane (RFC 8785 sorts keys by UTF-16 code units, orjson by code points; they agree inside the
BMP) and only floats both write alike. ECMAScript writes an integral float as an integer
(``2.0`` is ``2``), so those are handed to orjson as integers when they are exact (below
2^53); other floats go through orjson when their magnitude is in [1e-5, 1e15), where both use
plain decimal notation with the shortest round-trip digits (checked on 600k random floats);
any other float sends the value to the reference. String escaping is the same in both
(checked for every control character, DEL, U+2028/2029 and non-ASCII). A property test
compares the two on generated values.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import rfc8785

_SAFE_INT = 2**53 - 1
_BMP_END = "\U00010000"


_FLOAT_LOW = 1e-5
_FLOAT_HIGH = 1e15


class _NotFast(Exception):
    """The value needs the reference implementation."""


def _float(item: float) -> int | float:
    if item.is_integer():
        if -_SAFE_INT <= item <= _SAFE_INT:
            return int(item)  # ECMAScript: 2.0 -> "2"; -0.0 -> "0"
        raise _NotFast
    if _FLOAT_LOW <= abs(item) < _FLOAT_HIGH:
        return item
    raise _NotFast  # exponent notation, NaN, infinities: the reference decides


def _with_floats(value: Any) -> Any:
    """A copy of ``value`` whose floats orjson writes as RFC 8785 does (or _NotFast)."""
    kind = type(value)
    if kind is float:
        return _float(value)
    if kind is dict:
        return {key: _with_floats(child) for key, child in value.items()}
    if kind is list:
        return [_with_floats(child) for child in value]
    return value


def _orjson_form(value: Any) -> Any:
    """``value`` itself, or a copy with integral floats as ints, when ``orjson.dumps(value,
    OPT_SORT_KEYS)`` is RFC 8785 for it; ``_NotFast`` otherwise."""
    stack = [value]
    floats = False
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INT <= item <= _SAFE_INT:
                continue
            raise _NotFast
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or not (key.isascii() or max(key) < _BMP_END):
                    raise _NotFast
                stack.append(child)
            continue
        if kind is list:
            stack.extend(item)
            continue
        if kind is float:
            _float(item)
            floats = True
            continue
        raise _NotFast  # tuples, anything else: the reference decides
    return _with_floats(value) if floats else value


def _orjson_is_canonical(value: Any) -> bool:
    """Whether the orjson fast path is exact for ``value``."""
    try:
        _orjson_form(value)
    except _NotFast:
        return False
    return True


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value`` (UTF-8 bytes)."""
    try:
        form = _orjson_form(value)
    except _NotFast:
        return rfc8785.dumps(value)
    try:
        return orjson.dumps(form, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return rfc8785.dumps(value)  # e.g. lone surrogates: let the reference raise its error


def canonical_hash(value: Any) -> str:
    """Hex SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
