"""The records the sandbox APIs serve, kept sorted by each system's cursor, then id.

:class:`SandboxStore` holds one table per system. A table keeps its records in the
order every API lists them (cursor field, then primary key), with a parallel list of
``(cursor, key)`` pairs so that a cursor filter or a page boundary is a binary search,
not a scan: paging through 100k records stays fast. :meth:`SandboxStore.upsert`
replaces or adds a record and keeps that order, so later work can move the world on
(change a status, bump its cursor) while the server runs. All methods are thread-safe.

A generated scenario's records are not kept: the table keeps each one's sort key and a
:class:`Lazy` (the function that builds it and the order it is built from), and a page
builds its records when it is served (:meth:`SandboxStore.from_scenario` takes them from
the scenario's ``lazy_records``). A built record is the same, byte for byte, every time;
a record upserted is kept as it is. :meth:`SandboxStore.version` changes with every change
to a table, for whoever caches what it derives from its records; one that keeps it up to date
instead watches the table (:meth:`SandboxStore.watch`, a :class:`ChangeLog`) and takes what
changed since it last looked (:meth:`SandboxStore.take`): the WMS's stock does
(:mod:`sandbox.quant_tally`).
"""

from __future__ import annotations

import copy
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from orderhub.sources import API_SYSTEMS
from sandbox.changelog import ChangeLog, Taken
from sandbox.clock import ISO_PATTERN, ODATA_PATTERN, ODOO_PATTERN, iso, odata, odoo

if TYPE_CHECKING:
    from sandbox.worlds import World

Record = dict[str, Any]
#: A record's place in its table: (cursor value, primary key).
SortKey = tuple[str, Any]


class Lazy:
    """A record not built yet: ``build(arg)`` builds it (a new dict each time); ``head(arg)``,
    when given, some of its fields without building it (what a view sorts by)."""

    __slots__ = ("arg", "build", "head")

    def __init__(
        self,
        build: Callable[[Any], Record],
        arg: Any,
        head: Callable[[Any], Record] | None = None,
    ) -> None:
        self.build, self.arg, self.head = build, arg, head


def _built(entry: Record | Lazy) -> Record:
    return entry.build(entry.arg) if type(entry) is Lazy else entry  # type: ignore[union-attr,return-value]


def _head(entry: Record | Lazy) -> Mapping[str, Any]:
    if type(entry) is Lazy and entry.head is not None:  # type: ignore[union-attr]
        return entry.head(entry.arg)  # type: ignore[union-attr]
    return _built(entry)


def built(entry: Record | Lazy) -> Record:
    """A table entry as a record: a :class:`Lazy` built (a new dict), a kept record as it is
    (the store's own: do not mutate)."""
    return _built(entry)


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
    """An instant as ``system`` writes its cursor: Odoo's form for the WMS, SAP's OData V2
    ``/Date(ms+0000)/`` for the ERP, else ISO ``Z``."""
    if system == "erp":
        return odata(seconds)
    return odoo(seconds) if system == "wms" else iso(seconds)


def sortable(value: Any) -> str | None:
    """A cursor value in the sandbox's ISO ``Z`` form (Odoo's and OData's forms converted;
    OData's to the whole second), else None."""
    if isinstance(value, str):
        if ISO_PATTERN.match(value):
            return value
        if ODOO_PATTERN.match(value):
            return value.replace(" ", "T") + "Z"
        found = ODATA_PATTERN.match(value)
        if found:
            return iso(int(found[1]) // 1000)
    return None


#: A change log holds this many keys at least before it gives up for a reload (ChangeLog).
LOG_FLOOR = 1024


class _Table:
    """One system's records in API order, with their sort keys and an index by key."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.cursor_field = CURSOR_FIELD[system]
        self.key_field = KEY_FIELD[system]
        self.records: list[Record | Lazy] = []
        self.keys: list[SortKey] = []
        self.by_key: dict[Any, SortKey] = {}
        #: Moves on with every change, so a view derived from the table can be cached.
        self.version = 0
        #: The readers keeping up with the table's changes (:class:`ChangeLog`).
        self.logs: weakref.WeakSet[ChangeLog] = weakref.WeakSet()

    def _changing(self, key: Any, entry: Record | Lazy | None) -> None:
        for log in self.logs:
            if log.reloaded or key in log.before:
                continue
            if len(log.before) >= max(LOG_FLOOR, len(self.keys) // 2):  # as dear as a walk
                log.before.clear()
                log.reloaded = True
            else:
                log.before[key] = entry

    def sort_key(self, record: Mapping[str, Any]) -> SortKey:
        try:
            cursor, key = record[self.cursor_field], record[self.key_field]
        except KeyError as missing:
            raise ValueError(f"{self.system} record lacks {missing}") from None
        instant = sortable(cursor)
        if instant is None:
            raise ValueError(
                f"{self.system} record {key!r}: {self.cursor_field} must look like "
                f"2026-10-03T14:05:09Z (or 2026-10-03 14:05:09, or /Date(1759500309000+0000)/),"
                f" got {cursor!r}"
            )
        return (instant, key)

    def load(self, records: Iterable[Record]) -> None:
        self.load_entries((self.sort_key(r), r) for r in records)

    def load_entries(self, entries: Iterable[tuple[SortKey, Record | Lazy]]) -> None:
        pairs = sorted(entries, key=lambda pair: pair[0])
        self.keys = [key for key, _ in pairs]
        self.records = [record for _, record in pairs]
        self.by_key = {key[1]: key for key in self.keys}
        self.version += 1
        for log in self.logs:
            log.before.clear()
            log.reloaded = True
        if len(self.by_key) != len(self.keys):
            raise ValueError(f"{self.system} records repeat a {self.key_field}")

    def upsert(self, record: Record) -> None:
        new = self.sort_key(record)
        old = self.by_key.get(new[1])
        if old is None:
            self._changing(new[1], None)
        else:
            at = bisect_left(self.keys, old)
            self._changing(new[1], self.records[at])
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
        self._changing(key, self.records[at])
        del self.keys[at]
        del self.records[at]
        self.version += 1
        return True

    def at(self, key: Any) -> Record | Lazy | None:
        place = self.by_key.get(key)
        return None if place is None else self.records[bisect_left(self.keys, place)]


class SandboxStore:
    """Every system's records, sorted for paging; the one thing the sandbox apps read."""

    def __init__(self, records: Mapping[str, Iterable[Record]] | None = None) -> None:
        self._lock = threading.RLock()
        self._tables = {name: _Table(name) for name in CURSOR_FIELD}
        #: Called with (system, record) after each upsert: the push (:mod:`sandbox.push`).
        self.listeners: list[Callable[[str, Record], None]] = []
        #: Told of every record deleted (its last version), after the delete.
        self.deletion_listeners: list[Callable[[str, Record], None]] = []
        for system, rows in (records or {}).items():
            self._table(system).load(rows)

    @classmethod
    def from_scenario(cls, scenario: World) -> SandboxStore:
        """A store serving every record of ``scenario`` (its first round): built when read
        if the scenario has ``lazy_records(system)`` (pairs of a record and the
        :class:`Lazy` that builds it again), else kept."""
        lazy = getattr(scenario, "lazy_records", None)
        if lazy is None:
            return cls({system: scenario.records(system) for system in API_SYSTEMS})
        store = cls()
        for system in API_SYSTEMS:
            table = store._table(system)
            table.load_entries((table.sort_key(r), entry) for r, entry in lazy(system))
        return store

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
            gone = table.at(key)
            deleted = table.delete(key)
        if deleted and gone is not None:
            last = _built(gone)
            for listener in self.deletion_listeners:
                listener(system, copy.deepcopy(last))
        return deleted

    # ------------------------------------------------------------------ keeping up

    def watch(self, system: str) -> ChangeLog:
        """A new log of ``system``'s changes, ``reloaded`` until first taken; the store keeps
        it while the caller does."""
        log = ChangeLog()
        with self._lock:
            self._table(system).logs.add(log)
        return log

    def take(self, system: str, log: ChangeLog) -> Taken:
        """What changed in ``system`` since ``log`` was last taken (every entry when it was
        ``reloaded``), with the table's version and last cursor at that same instant; empties
        ``log``. Costs the keys changed, or a copy of the entry list when reloaded."""
        table = self._table(system)
        with self._lock:
            if log not in table.logs:
                raise ValueError(f"that log does not watch {system}")
            last = table.keys[-1][0] if table.keys else None
            if log.reloaded:
                log.reloaded = False
                log.before.clear()
                return Taken(table.version, last, None, list(table.records))
            changes = [(key, old, table.at(key)) for key, old in log.before.items()]
            log.before = {}
            return Taken(table.version, last, changes, None)

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
            entry = table.records[bisect_left(table.keys, sort_key)]
        return copy.deepcopy(entry) if type(entry) is dict else _built(entry)

    def records(self, system: str) -> list[Record]:
        """All of ``system``'s records in API order (kept ones are the store's own dicts: do
        not mutate). Builds every record not kept: :meth:`iter_records` builds one at a time."""
        return list(self.iter_records(system))

    def iter_records(self, system: str) -> Iterator[Record]:
        """``system``'s records in API order as of the call, each built as it is reached."""
        with self._lock:
            entries = list(self._table(system).records)
        return map(_built, entries)

    def iter_heads(self, system: str) -> Iterator[Mapping[str, Any]]:
        """``system``'s records in API order as of the call, a record not built yet as its
        :class:`Lazy`'s head when it has one (only the fields the head gives), else built."""
        with self._lock:
            entries = list(self._table(system).records)
        return map(_head, entries)

    def last_cursor(self, system: str) -> str | None:
        """The greatest cursor value of ``system``'s records (in the sortable ISO form), or
        None when it has none."""
        with self._lock:
            keys = self._table(system).keys
            return keys[-1][0] if keys else None

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
            page, total = table.records[first : first + limit], len(table.keys) - start
        return [_built(entry) for entry in page], total

    def count_where(
        self, system: str, since: str | None, predicate: Callable[[Record], bool]
    ) -> int:
        """How many records with cursor ``>= since`` satisfy ``predicate`` (a scan)."""
        table = self._table(system)
        with self._lock:
            start = bisect_left(table.keys, (since,)) if since else 0
            return sum(1 for entry in table.records[start:] if predicate(_built(entry)))

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
            page, more = table.records[start : start + limit], start + limit < len(table.keys)
        return [_built(entry) for entry in page], more


__all__ = [
    "CURSOR_FIELD", "KEY_FIELD", "Lazy", "SandboxStore", "SortKey", "built", "sortable",
    "wire_time",
]  # fmt: skip
