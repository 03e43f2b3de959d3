"""Jinja's tests and attribute lookup as the manifests' templates apply them to a parsed
JSON page, in Python: shared by :mod:`connectors.predicates` and :mod:`connectors.erp_paging`,
which answer the manifests' paging templates without rendering them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What Jinja's ``getattr`` gives for a key a value lacks (an undefined value).
_MISSING = object()


def is_sequence(value: Any) -> bool:
    """Jinja's ``sequence`` test."""
    try:
        len(value)
        value.__getitem__  # noqa: B018 - Jinja's own test reads it
    except Exception:
        return False
    return True


def is_integer(value: Any) -> bool:
    """Jinja's ``integer`` test."""
    return isinstance(value, int) and value is not True and value is not False


def member(item: Any, name: str) -> Any:
    """``item.<name>`` as Jinja's ``getattr`` reads it from a parsed JSON value (no JSON
    value has an attribute by these names, so it is the item's key, else undefined)."""
    try:
        return item[name]
    except (TypeError, LookupError, AttributeError):
        return _MISSING


def listed(response: Any, field: str) -> bool:
    """``response is mapping and response.get(field) is sequence and ... is not mapping and
    ... is not string``: the page holds a list under ``field``."""
    if not isinstance(response, Mapping):
        return False
    value = response.get(field)
    return is_sequence(value) and not isinstance(value, Mapping) and not isinstance(value, str)
