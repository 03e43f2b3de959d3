"""Tables committed as Merkle trees of their rows, and rows proved out of them.

A table (the status crosswalk, the orders a build derived) is committed to as the RFC 9162
root of a tree whose leaves are its rows in key order, each given by the 32 bytes of the
SHA-256 of its RFC 8785 canonical JSON - the same leaf rule as a batch's records
(:mod:`ledger.batches`):

    leaf(row) = SHA-256(0x00 || SHA-256(RFC 8785 JSON of the row object))

ordered bytewise by the UTF-8 bytes of the key columns, column after column
(:func:`key_bytes`). A bundle carries some rows of such a table, each with its leaf index
and inclusion proof; :class:`ProvedRows` checks them against the logged root and size and
that they are in key order. Because rows are sorted by key, the rows whose key starts with
a prefix (all crosswalk rows of one source field) are one run of leaves: a bundle proves it
has all of them by carrying the run and the rows just before and after it
(:func:`prefix_run`, checked by :meth:`ProvedRows.all_with_prefix`).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.batches import BatchTree, RecordProof, verify_record
from ledger.bundle.format import BundleError
from ledger.canonical import canonical_json
from ledger.errors import ProofError
from ledger.hashing import HASH_SIZE

Key = tuple[bytes, ...]


def row_hash(row: Mapping[str, Any]) -> bytes:
    """SHA-256 of the row's RFC 8785 bytes: what its leaf commits to."""
    return hashlib.sha256(canonical_json(dict(row))).digest()


def key_bytes(row: Mapping[str, Any], columns: Sequence[str]) -> Key:
    """The row's sort key: the UTF-8 bytes of each key column (null sorts as empty)."""
    return tuple(str(row.get(c) if row.get(c) is not None else "").encode() for c in columns)


def ordered(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows in leaf order."""
    return sorted((dict(r) for r in rows), key=lambda r: key_bytes(r, columns))


def table_tree(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> BatchTree:
    """The tree over the rows in leaf order (its ``root()`` is the table's commitment)."""
    return BatchTree(row_hash(r) for r in ordered(rows, columns))


def prefix_run(keys: Sequence[Key], prefix: Key) -> list[int]:
    """Leaf indexes a bundle carries to prove every row whose key starts with ``prefix``:
    the run of those rows and its neighbours (when the run is empty: the two leaves
    around where it would be). ``keys`` are the table's keys in leaf order."""
    width = len(prefix)
    heads = [k[:width] for k in keys]
    lo, hi = bisect.bisect_left(heads, prefix), bisect.bisect_right(heads, prefix)
    return [i for i in range(lo - 1, hi + 1) if 0 <= i < len(keys)]


@dataclass(frozen=True)
class ProvedRow:
    index: int
    row: dict[str, Any]
    key: Key


class ProvedRows:
    """Rows of a committed table, each proved against ``root`` (a tree of ``size`` leaves)."""

    def __init__(
        self,
        entries: Sequence[Any],
        columns: Sequence[str],
        root: bytes,
        size: int,
        item: str,
    ) -> None:
        self.columns, self.size, self.item = tuple(columns), size, item
        rows: list[ProvedRow] = []
        for i, entry in enumerate(entries):
            where = f"{item} row #{i}"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("row"), Mapping):
                raise BundleError(f"{where}: must be an object with a row")
            index, path = entry.get("leaf_index"), entry.get("path")
            if isinstance(index, bool) or not isinstance(index, int):
                raise BundleError(f"{where}: leaf_index {index!r} is not an integer")
            try:
                hashes = [bytes.fromhex(p) for p in path]
                if any(len(h) != HASH_SIZE for h in hashes):
                    raise ValueError
                verify_record(row_hash(entry["row"]), RecordProof(index, size, tuple(hashes)), root)
            except (ProofError, ValueError, TypeError) as exc:
                raise BundleError(f"{where} (leaf {index}): {exc or 'bad proof'}") from None
            rows.append(ProvedRow(index, dict(entry["row"]), key_bytes(entry["row"], columns)))
        rows.sort(key=lambda r: r.index)
        for before, after in itertools.pairwise(rows):
            if before.index == after.index:
                continue
            if not before.key < after.key:
                raise BundleError(
                    f"{item}: leaf {before.index} and leaf {after.index} are not in key order"
                )
        self.rows = {r.index: r for r in rows}

    def all_with_prefix(self, prefix: Key) -> list[dict[str, Any]]:
        """Every row of the table whose key starts with ``prefix``; BundleError when the
        bundle does not prove that it carries all of them."""
        width = len(prefix)
        indexes = sorted(i for i, r in self.rows.items() if r.key[:width] == prefix)
        shown = "/".join(p.decode() for p in prefix)
        if indexes:
            lo, hi = indexes[0], indexes[-1]
            if indexes != list(range(lo, hi + 1)):
                raise BundleError(f"{self.item}: the rows of {shown} are not one run of leaves")
            if (lo > 0 and lo - 1 not in self.rows) or (
                hi + 1 < self.size and hi + 1 not in self.rows
            ):
                raise BundleError(
                    f"{self.item}: the rows of {shown} come without the leaves around them, "
                    "so the bundle does not prove it has them all"
                )
            return [self.rows[i].row for i in indexes]
        if self.size == 0:
            return []
        below = [i for i, r in self.rows.items() if r.key[:width] < prefix]
        above = [i for i, r in self.rows.items() if r.key[:width] > prefix]
        last_below = max(below, default=-1)
        first_above = min(above, default=self.size)
        if first_above - last_below != 1:
            raise BundleError(
                f"{self.item}: no row of {shown}, and the bundle does not prove there is none "
                "(two adjacent leaves around where it would be)"
            )
        return []
