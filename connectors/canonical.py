"""RFC 8785 (JSON Canonicalization Scheme) bytes and their SHA-256, fast.

The ``rfc8785`` package is the reference and the answer for every value it is asked about.
It is pure Python (about 7k tracker records/s here), so values it would write exactly as
``orjson`` with sorted keys does go through ``orjson`` instead: values holding no float
(ECMAScript number formatting differs), no integer outside ±(2^53 - 1) (RFC 8785 refuses
them) and no object key beyond the Basic Multilingual Plane (RFC 8785 sorts keys by UTF-16
code units, orjson by code points; they agree inside the BMP). String escaping is the same in
both (checked for every control character, DEL, U+2028/2029 and non-ASCII). A property test
compares the two on generated values.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import rfc8785

_SAFE_INT = 2**53 - 1
_BMP_END = "\U00010000"


def _orjson_is_canonical(value: Any) -> bool:
    """Whether ``orjson.dumps(value, OPT_SORT_KEYS)`` is RFC 8785 for ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INT <= item <= _SAFE_INT:
                continue
            return False
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or not (key.isascii() or max(key) < _BMP_END):
                    return False
                stack.append(child)
            continue
        if kind is list:
            stack.extend(item)
            continue
        return False  # floats, tuples, anything else: the reference decides
    return True


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value`` (UTF-8 bytes)."""
    if _orjson_is_canonical(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # e.g. lone surrogates: let the reference raise its own error
    return rfc8785.dumps(value)


def canonical_hash(value: Any) -> str:
    """Hex SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
