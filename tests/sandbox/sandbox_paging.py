"""Test helper: what paging through any sandbox API must serve, whatever its paging style.

Each API orders its records by its cursor field, then its key; a walk over all pages serves
every record once in that order, and a lower bound on the cursor is inclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: A walk that takes more pages than this is looping.
MAX_PAGES = 500

Record = Mapping[str, Any]


def in_cursor_order(records: Iterable[Record], cursor: str, key: str) -> list[Record]:
    """``records`` in the order every sandbox API serves them: by cursor, then key."""
    return sorted(records, key=lambda r: (r[cursor], r[key]))


def nth_cursor(records: Iterable[Record], cursor: str, n: int) -> str:
    """The ``n``-th smallest cursor value among ``records`` (a bound with records on both sides)."""
    return sorted(r[cursor] for r in records)[n]


def assert_every_record_once_in_order(
    rows: Sequence[Record], records: Iterable[Record], cursor: str, key: str
) -> None:
    """``rows``, walked over all pages, are ``records`` in cursor order, each once."""
    assert rows == in_cursor_order(records, cursor, key)
    assert len({r[key] for r in rows}) == len(rows)


def assert_served_from(
    rows: Sequence[Record], records: Iterable[Record], cursor: str, key: str, since: str
) -> None:
    """``rows`` are exactly the ``records`` whose cursor is ``since`` or later, starting at it."""
    assert rows[0][cursor] == since
    assert sorted(r[key] for r in rows) == sorted(r[key] for r in records if r[cursor] >= since)
