"""The records the sandbox APIs serve, kept sorted by each system's cursor, then id.

:class:`SandboxStore` holds one table per system. A table keeps its records in the
order every API lists them (cursor field, then primary key), with a parallel list of
``(cursor, key)`` pairs so that a cursor filter or a page boundary is a binary search,
not a scan: paging through 100k records stays fast. :meth:`SandboxStore.upsert`
replaces or adds a record and keeps that order, so later work can move the world on
(change a status, bump its cursor) while the server runs. All methods are thread-safe.
"""

from __future__ import annotations

import copy
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from orderhub.sources import API_SYSTEMS
from sandbox.clock import ISO_PATTERN, ODOO_PATTERN, iso, odoo

if TYPE_CHECKING:
    from sandbox.worlds import World

Record = dict[str, Any]
#: A record's place in its table: (cursor value, primary key).
SortKey = tuple[str, Any]

#: Each table's cursor field and primary key (docs/sources.md): one table per system; a system
#: serving more than one record type adds a table here (the WMS: ``sandbox.apis.wms.MODELS``
#: maps each Odoo model to its table).
CURSOR_FIELD: dict[str, str] = {
    "erp": "LastChangeDateTime",
    "crm": "SystemModstamp",
    "wms": "write_date",
    "tms": "updated_at",
    "wms_quants": "write_date",
    "wms_warehouses": "write_date",
}
KEY_FIELD: dict[str, str] = {
    "erp": "SalesOrder",
    "crm": "Id",
    "wms": "id",
    "tms": "id",
    "wms_quants": "id",
    "wms_warehouses": "id",
}


def wire_time(system: str, seconds: int) -> str:
    """An instant as ``system`` writes its cursor: Odoo's form for the WMS, else ISO ``Z``."""
    return odoo(seconds) if system == "wms" else iso(seconds)


def sortable(value: Any) -> str | None:
    """A cursor value in the sandbox's ISO ``Z`` form (Odoo's form converted), else None."""
    if isinstance(value, str):
        if ISO_PATTERN.match(value):
            return value
        if ODOO_PATTERN.match(value):
            return value.replace(" ", "T") + "Z"
    return None


class _Table:
    """One system's records in API order, with their sort keys and an index by key."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.cursor_field = CURSOR_FIELD[system]
        self.key_field = KEY_FIELD[system]
        self.records: list[Record] = []
        self.keys: list[SortKey] = []
        self.by_key: dict[Any, SortKey] = {}
        #: Moves on with every change, so a view derived from the table can be cached.
        self.version = 0

    def sort_key(self, record: Mapping[str, Any]) -> SortKey:
        try:
            cursor, key = record[self.cursor_field], record[self.key_field]
        except KeyError as missing:
            raise ValueError(f"{self.system} record lacks {missing}") from None
        instant = sortable(cursor)
        if instant is None:
            raise ValueError(
                f"{self.system} record {key!r}: {self.cursor_field} must look like "
                f"2026-10-03T14:05:09Z (or 2026-10-03 14:05:09), got {cursor!r}"
            )
        return (instant, key)

    def load(self, records: Iterable[Record]) -> None:
        pairs = sorted(((self.sort_key(r), r) for r in records), key=lambda pair: pair[0])
        self.keys = [key for key, _ in pairs]
        self.records = [record for _, record in pairs]
        self.by_key = {key[1]: key for key in self.keys}
        self.version += 1
        if len(self.by_key) != len(self.keys):
            raise ValueError(f"{self.system} records repeat a {self.key_field}")

    def upsert(self, record: Record) -> None:
        new = self.sort_key(record)
        old = self.by_key.get(new[1])
        if old is not None:
            at = bisect_left(self.keys, old)
            del self.keys[at]
            del self.records[at]
        at = bisect_left(self.keys, new)
        self.keys.insert(at, new)
        self.records.insert(at, record)
        self.by_key[new[1]] = new
        self.version += 1

    def delete(self, key: Any) -> bool:
        old = self.by_key.pop(key, None)
        if old is None:
            return False
        at = bisect_left(self.keys, old)
        del self.keys[at]
        del self.records[at]
        self.version += 1
        return True


class SandboxStore:
    """Every system's records, sorted for paging; the one thing the sandbox apps read."""

    def __init__(self, records: Mapping[str, Iterable[Record]] | None = None) -> None:
        self._lock = threading.RLock()
        self._tables = {name: _Table(name) for name in CURSOR_FIELD}
        #: Called with (system, record) after each upsert: the push (:mod:`sandbox.push`).
        self.listeners: list[Callable[[str, Record], None]] = []
        for system, rows in (records or {}).items():
            self._table(system).load(rows)

    @classmethod
    def from_scenario(cls, scenario: World) -> SandboxStore:
        """A store holding every record of ``scenario`` (its first round)."""
        return cls({system: scenario.records(system) for system in API_SYSTEMS})

    def _table(self, system: str) -> _Table:
        try:
            return self._tables[system]
        except KeyError:
            raise ValueError(f"unknown system {system!r}; expected one of {API_SYSTEMS}") from None

    # ------------------------------------------------------------------ changes

    def upsert(self, system: str, record: Mapping[str, Any]) -> None:
        """Add ``record`` or replace the one with its primary key, keeping the sort order.

        The store keeps a deep copy. The cursor field must have the sandbox's form
        (``2026-10-03T14:05:09Z``); a record whose cursor moved moves with it.
        """
        table = self._table(system)
        kept = copy.deepcopy(dict(record))
        with self._lock:
            table.upsert(kept)
        for listener in self.listeners:
            listener(system, copy.deepcopy(kept))

    def replace(self, table: str, records: Iterable[Record]) -> None:
        """Hold exactly ``records`` in ``table`` (a derived table rebuilt; nothing is pushed)."""
        rows = [copy.deepcopy(dict(record)) for record in records]
        with self._lock:
            self._table(table).load(rows)

    def delete(self, system: str, key: Any) -> bool:
        """Remove the record with primary key ``key`` (a source deleting it for good);
        whether there was one."""
        table = self._table(system)
        with self._lock:
            return table.delete(key)

    # ------------------------------------------------------------------ reading

    def version(self, system: str) -> int:
        """A number that changes whenever ``system``'s records change."""
        with self._lock:
            return self._table(system).version

    def count(self, system: str) -> int:
        """How many records ``system`` holds."""
        with self._lock:
            return len(self._table(system).records)

    def get(self, system: str, key: Any) -> Record | None:
        """A deep copy of the record with primary key ``key``, or ``None``."""
        table = self._table(system)
        with self._lock:
            sort_key = table.by_key.get(key)
            if sort_key is None:
                return None
            return copy.deepcopy(table.records[bisect_left(table.keys, sort_key)])

    def records(self, system: str) -> list[Record]:
        """All of ``system``'s records in API order (the store's own dicts: do not mutate)."""
        with self._lock:
            return list(self._table(system).records)

    def sort_key_of(self, system: str, key: Any) -> SortKey | None:
        """Where the record with primary key ``key`` sits, or ``None`` if there is none."""
        with self._lock:
            return self._table(system).by_key.get(key)

    def window(
        self, system: str, since: str | SortKey | None, offset: int, limit: int
    ) -> tuple[list[Record], int]:
        """Offset paging from ``since``, from ``offset``, at most ``limit`` records.

        ``since`` is an instant (records with cursor ``>= since``), or a ``(cursor, key)``
        position that need not be a record's own (keyset paging behind it: records sorting
        after it, "cursor > T, or cursor = T and key > K"), or ``None`` (every record).
        Returns the page and how many records match in all.
        """
        table = self._table(system)
        with self._lock:
            if isinstance(since, tuple):
                start = bisect_right(table.keys, since)
            else:
                start = bisect_left(table.keys, (since,)) if since else 0
            first = start + offset
            return table.records[first : first + limit], len(table.keys) - start

    def count_where(
        self, system: str, since: str | None, predicate: Callable[[Record], bool]
    ) -> int:
        """How many records with cursor ``>= since`` satisfy ``predicate`` (a scan)."""
        table = self._table(system)
        with self._lock:
            start = bisect_left(table.keys, (since,)) if since else 0
            return sum(1 for record in table.records[start:] if predicate(record))

    def after(
        self, system: str, since: str | None, after: SortKey | None, limit: int
    ) -> tuple[list[Record], bool]:
        """Keyset paging: records with cursor ``>= since`` sorting after ``after``.

        Returns at most ``limit`` records and whether more follow them.
        """
        table = self._table(system)
        with self._lock:
            start = bisect_left(table.keys, (since,)) if since else 0
            if after is not None:
                start = max(start, bisect_right(table.keys, after))
            page = table.records[start : start + limit]
            return page, start + limit < len(table.keys)


__all__ = ["CURSOR_FIELD", "KEY_FIELD", "SandboxStore", "SortKey", "sortable", "wire_time"]
