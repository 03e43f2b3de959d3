"""What one reader of a store table has not seen yet: :class:`ChangeLog`, kept by the table
(:meth:`sandbox.store.SandboxStore.watch`), and :class:`Taken`, what one
:meth:`~sandbox.store.SandboxStore.take` hands out. A reader that keeps a view of a table up
to date (the WMS's stock: :mod:`sandbox.quant_tally`) redoes the keys taken, not the table.
"""

from __future__ import annotations

from typing import Any

#: A table's entry: a kept record (a dict), or the :class:`~sandbox.store.Lazy` building it.
Entry = Any


class ChangeLog:
    """What changed in one table since its reader last took it: each key upserted or
    deleted, with the entry it held before its first such change (None when it held none),
    or ``reloaded`` when the table was loaded anew (a new log starts so).

    Bounded: one item a key changed since the last take, emptied by each take. Once half
    the table's keys changed (1,024 at least: ``sandbox.store.LOG_FLOOR``), redoing each as
    it was and as it is would cost about a walk over every entry: the log gives up and is
    ``reloaded`` instead. A log nobody refers to any more is dropped (the table holds its
    logs weakly)."""

    __slots__ = ("__weakref__", "before", "reloaded")

    def __init__(self) -> None:
        self.before: dict[Any, Entry | None] = {}
        self.reloaded = True


class Taken:
    """A table's changes as one take saw them, all at one instant: its version and last
    cursor, and either ``changes`` (per key changed: the entry before, the entry now, None
    for none) or, when the log was ``reloaded``, every entry now (``entries``)."""

    __slots__ = ("changes", "entries", "last_cursor", "version")

    def __init__(
        self,
        version: int,
        last_cursor: str | None,
        changes: list[tuple[Any, Entry | None, Entry | None]] | None,
        entries: list[Entry] | None,
    ) -> None:
        self.version, self.last_cursor = version, last_cursor
        self.changes, self.entries = changes, entries
