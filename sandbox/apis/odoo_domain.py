"""Odoo search domains over the WMS's pickings: parsing, evaluation, and the fast paths.

A domain is Odoo's prefix notation: terms ``[field, operator, value]`` joined by ``"&"``,
``"|"`` and ``"!"`` (consecutive terms are and-ed). The sandbox understands the operators
``= != > >= < <=`` on ``write_date`` (an Odoo datetime ``2026-10-03 14:05:09``, UTC), ``id`` and
any other field by equality of plain values. :func:`page_of` answers the two domains a
client paging by write_date sends - ``[("write_date", ">=", T)]`` and the keyset form
``["|", ("write_date", ">", T), "&", ("write_date", "=", T), ("id", ">", K)]`` - by binary
search, and any other by a scan in (write_date, id) order.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from sandbox.store import SandboxStore, sortable

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_ORDER = re.compile(r"^\s*write_date(\s+asc)?\s*,\s*id(\s+asc)?\s*$", re.IGNORECASE)


class DomainError(ValueError):
    """A domain (or order) the sandbox cannot evaluate; its message says why."""


def parse_order(order: Any) -> None:
    """Accept ``write_date asc, id asc`` (or nothing); anything else is a DomainError."""
    if order is not None and not (isinstance(order, str) and _ORDER.match(order)):
        raise DomainError(f"Invalid order {order!r}: the sandbox orders by write_date, id only")


def _value(field: str, value: Any) -> Any:
    if field == "write_date":
        instant = sortable(value) or sortable(f"{value} 00:00:00" if isinstance(value, str) else 0)
        if instant is None:
            raise DomainError(f"Invalid datetime {value!r} for write_date")
        return instant
    return value


def _term(term: Any) -> Predicate:
    if not (isinstance(term, list | tuple) and len(term) == 3 and isinstance(term[0], str)):
        raise DomainError(f"Invalid leaf {term!r}")
    field, op, raw = term
    if op not in _OPERATORS:
        raise DomainError(f"Invalid operator {op!r}")
    compare, value = _OPERATORS[op], _value(field, raw)

    def check(record: Record) -> bool:
        found = record.get(field)
        if field == "write_date":
            found = sortable(found)
        if found is None or found is False:
            return op == "!=" and value not in (None, False)
        try:
            return bool(compare(found, value))
        except TypeError:
            return False

    return check


def _parse(items: list[Any], at: int) -> tuple[Predicate, int]:
    item = items[at]
    if item == "!":
        inner, after = _parse(items, at + 1)
        return (lambda r: not inner(r)), after
    if item in ("&", "|"):
        left, middle = _parse(items, at + 1)
        right, after = _parse(items, middle)
        if item == "&":
            return (lambda r: left(r) and right(r)), after
        return (lambda r: left(r) or right(r)), after
    return _term(item), at + 1


def predicate(domain: Any) -> Predicate:
    """The predicate of ``domain``."""
    if not isinstance(domain, list):
        raise DomainError(f"A domain is a list, got {domain!r}")
    parts: list[Predicate] = []
    at = 0
    try:
        while at < len(domain):
            part, at = _parse(domain, at)
            parts.append(part)
    except IndexError:
        raise DomainError(f"Incomplete domain {domain!r}") from None
    return lambda record: all(part(record) for part in parts)


def _fast(domain: Any) -> str | tuple[str, int] | bool | None:
    """The lower bound of a paging domain (instant or keyset position), None for the empty
    domain, False for any other."""
    terms = [list(t) if isinstance(t, list | tuple) else t for t in domain]
    if not terms:
        return None
    if len(terms) == 1 and terms[0][:2] == ["write_date", ">="]:
        return _value("write_date", terms[0][2])
    shape = ["|", ["write_date", ">"], "&", ["write_date", "="], ["id", ">"]]
    if len(terms) == 5 and [t[:2] if isinstance(t, list) else t for t in terms] == shape:
        since, equal, key = terms[1][2], terms[3][2], terms[4][2]
        if since == equal and isinstance(key, int) and not isinstance(key, bool):
            return (_value("write_date", since), key)
    return False


def page_of(
    store: SandboxStore, table: str, domain: Any, offset: int, limit: int
) -> tuple[list[Record], int]:
    """The records of the store's ``table`` matching ``domain`` in (write_date, id) order from
    ``offset``, at most ``limit`` of them, and how many match in all."""
    bound = _fast(domain) if isinstance(domain, list) else False
    if bound is not False:
        return store.window(table, bound, offset, limit)
    keep = predicate(domain)
    matching = [record for record in store.records(table) if keep(record)]
    return matching[offset : offset + limit], len(matching)
