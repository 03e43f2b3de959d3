"""The WMS's stock sums kept up to date as pickings change: what :class:`~sandbox.stock.
StockBook` serves ``stock.quant`` from without walking every picking again.

:func:`sandbox.stock.quant_records` sums, per (warehouse, SKU), the units of the deliveries
(``OUT`` pickings with a creation date) created in the rate window ``[now - 28 days, now]``
(``now`` the pickings' last ``write_date``) and the units the open ones hold. A
:class:`QuantTally` keeps those sums instead: the units held per key, and per creation day
the units shipped per key plus each move packed in one 64-bit integer (second of the day,
key, units), so the window's sum is its whole days' totals and a scan of its two edge days,
whatever ``now`` is. :func:`keep_up` applies what a :meth:`~sandbox.store.SandboxStore.take`
saw: each picking changed is taken out as it was and put in as it is now (built from its
entry, the one held when it last counted), so a refresh costs the pickings changed.

Memory: the moves' packed integers and a few dicts, nothing kept of a picking otherwise:
3.0 MB for the 180,199 delivery moves of 100,000 orders (about 17 bytes a move). Sums are
whole numbers, so they equal the float sums of the full walk in any order; a delivery with a
fractional creation second or quantity (or one past the packing's bounds) is only counted
(``inexact``), and while one is there the caller walks everything. Refresh times are in
:meth:`~sandbox.stock.StockBook.refresh`'s docstring.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.changelog import Entry, Taken
from sandbox.clock import parse_instant
from sandbox.store import built

DAY = 86_400
#: A move's packing: second of its day (17 bits), key (20 bits), units + _BIAS (26 bits).
_UNIT_BITS, _KEY_BITS = 26, 20
_BIAS = 1 << (_UNIT_BITS - 1)
_UNIT_MASK, _KEY_MASK = (1 << _UNIT_BITS) - 1, (1 << _KEY_BITS) - 1
_CLOSED = frozenset({"done", "cancel"})

Key = tuple[str, str]
#: A delivery's share of the sums: created (seconds), open, and its (key, units) moves.
Part = tuple[float, bool, tuple[tuple[Key, float], ...]]


def picking_part(picking: Mapping[str, Any]) -> Part | None:
    """What ``picking`` adds to the sums, as :func:`~sandbox.stock.quant_records` reads it;
    None for a picking that adds nothing (not a delivery, or no creation date)."""
    if picking.get("picking_type_code") != "OUT":
        return None
    if not isinstance(picking.get("create_date"), str):
        return None
    created = parse_instant(picking["create_date"])
    moves = tuple(
        (
            (str(picking.get("warehouse")), str(move.get("product"))),
            float(move.get("quantity") or 0.0),
        )
        for move in picking.get("move_ids") or []
    )
    return created, bool(moves) and picking.get("state") not in _CLOSED, moves


class _Day:
    """One creation day's deliveries: units per key, and each move packed."""

    __slots__ = ("moves", "totals")

    def __init__(self) -> None:
        self.totals: dict[int, int] = {}
        self.moves = array("q")


class QuantTally:
    """Units held per key and units shipped per creation day, whole numbers throughout."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._index: dict[Key, int] = {}
        self._keys: list[Key] = []
        self._held: dict[int, int] = {}
        self._days: dict[int, _Day] = {}
        #: Deliveries counted but not summed (a fractional second or quantity, or too big).
        self.inexact = 0

    def _key(self, key: Key) -> int:
        number = self._index.get(key)
        if number is None:
            if len(self._keys) > _KEY_MASK:
                raise OverflowError(f"more than {_KEY_MASK + 1} warehouse and SKU pairs")
            number = self._index[key] = len(self._keys)
            self._keys.append(key)
        return number

    @staticmethod
    def _exact(part: Part) -> bool:
        created, _, moves = part
        return created.is_integer() and all(
            units.is_integer() and -_BIAS <= units < _BIAS for _, units in moves
        )

    def add(self, part: Part, sign: int = 1) -> None:
        """Count ``part`` in (``sign`` 1) or out (-1, a part counted in before)."""
        if not self._exact(part):
            self.inexact += sign
            return
        created, held, moves = part
        day, second = divmod(int(created), DAY)
        bucket = self._days.get(day)
        if bucket is None:
            bucket = self._days[day] = _Day()
        for key, units in moves:
            number, whole = self._key(key), int(units)
            if held:
                self._held[number] = self._held.get(number, 0) + sign * whole
            bucket.totals[number] = bucket.totals.get(number, 0) + sign * whole
            packed = (((second << _KEY_BITS) | number) << _UNIT_BITS) | (whole + _BIAS)
            if sign > 0:
                bucket.moves.append(packed)
            else:
                bucket.moves.remove(packed)
        if not bucket.moves:
            del self._days[day]

    def sums(self, now: int) -> tuple[dict[Key, float], dict[Key, float]]:
        """Units shipped in ``[now - window, now]`` and units held, per key (as floats)."""
        low = now - self.window
        first, last = low // DAY, now // DAY
        shipped: dict[int, int] = {}
        for day in range(first + 1, last):
            bucket = self._days.get(day)
            for number, units in bucket.totals.items() if bucket else ():
                shipped[number] = shipped.get(number, 0) + units
        for day in {first, last}:
            bucket = self._days.get(day)
            for packed in bucket.moves if bucket else ():
                if low <= day * DAY + (packed >> (_UNIT_BITS + _KEY_BITS)) <= now:
                    number = (packed >> _UNIT_BITS) & _KEY_MASK
                    units = (packed & _UNIT_MASK) - _BIAS
                    shipped[number] = shipped.get(number, 0) + units
        return (
            {self._keys[n]: float(units) for n, units in shipped.items()},
            {self._keys[n]: float(units) for n, units in self._held.items()},
        )


def _part(entry: Entry | None) -> Part | None:
    return None if entry is None else picking_part(built(entry))


def tally_of(entries: Iterable[Entry], window: int) -> QuantTally:
    """A tally of every picking ``entries`` hold (each built once, none kept)."""
    tally = QuantTally(window)
    for entry in entries:
        part = _part(entry)
        if part is not None:
            tally.add(part)
    return tally


def keep_up(tally: QuantTally | None, taken: Taken, window: int) -> QuantTally:
    """``tally`` moved on by what ``taken`` saw (each changed picking out as it was, in as it
    is), or a new tally of every picking when ``taken`` holds them all (or there is none)."""
    if taken.entries is not None or tally is None:
        if taken.entries is None:
            raise ValueError("no tally to keep up and not every picking taken")
        return tally_of(taken.entries, window)
    for _, before, now in taken.changes or ():
        old, new = _part(before), _part(now)
        if old != new:
            if old is not None:
                tally.add(old, -1)
            if new is not None:
                tally.add(new)
    return tally
