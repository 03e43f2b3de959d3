"""Reads of the log and of its stored trees, many at once: one round trip whatever the count.

An audit bundle proves a build entry, every batch entry its records come from and each
record in its batch's tree. Read one at a time, that is a round trip per entry, per proof
and per record (46 statements for one order, most of a trace's time); these read them
together:

- :func:`fetch_subtrees`: the hashes of perfect subtrees (:mod:`ledger.layout`) and the
  bodies of entries, by position (what :mod:`ledger.store` folds roots and proofs from);
- :func:`batch_entries`: the first ``extraction_batch`` entry of each batch id, found by
  the partial index on ``ledger.entry(body)`` (:func:`first_batch_entry_sql`, the same
  rule for a query that finds it beside other rows);
- :func:`records_read` and :func:`proved_from`: each record's proof in a stored tree
  (``ledger.tree_proof`` for every pair in one statement) with each tree's size and root;
  a tree stored without a leaf index (schema 3) is read whole and searched here.

:func:`subtrees_read` and :func:`records_read` are :class:`~ledger.sessions.Read` values,
for a caller that sends them in one pipeline with other reads
(:func:`ledger.sessions.together`).

Nothing here checks a proof against a root: the caller does (and the verifier again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from ledger import layout
from ledger.batches import RecordProof, indexed_proof, load_tree, record_leaf
from ledger.errors import StoreError
from ledger.sessions import Read, alone, reading

#: An ``extraction_batch`` entry, told by its first bytes (RFC 8785 sorts ``kind`` first).
EXTRACTION_BATCH_SQL = 'substring(body from 1 for 27) = \'{"kind":"extraction_batch",\'::bytea'
#: The batch id an ``extraction_batch`` entry names (the expression of the partial index).
BATCH_ID_SQL = "ledger.entry(body) #>> '{payload,batch_id}'"


def subtrees_read(
    nodes: Iterable[layout.Node], bodies: Iterable[int] = ()
) -> Read[tuple[dict[layout.Node, bytes], dict[int, bytes]]]:
    """:func:`fetch_subtrees` as a :class:`~ledger.sessions.Read` (no statement when
    nothing is wanted), to send with others."""
    wanted, entries = set(nodes), sorted(set(bodies))
    if not wanted and not entries:
        return Read(None, None, lambda _: ({}, {}))
    leaves = [i for lv, i in wanted if lv == 0]
    inner = [(lv, i) for lv, i in wanted if lv > 0]

    def parse(rows: list[Any]) -> tuple[dict[layout.Node, bytes], dict[int, bytes]]:
        found = {(int(lv), int(i)): bytes(h) for lv, i, h in rows if lv >= 0}
        found_bodies = {int(i): bytes(b) for lv, i, b in rows if lv < 0}
        missing = sorted(wanted - found.keys())
        if missing:
            lv, i = missing[0]
            raise StoreError(
                f"stored subtree (level {lv}, index {i}) is missing "
                f"({len(missing)} missing in all): the ledger tables are incomplete"
            )
        absent = [i for i in entries if i not in found_bodies]
        if absent:
            raise StoreError(f"entry {absent[0]} is not in the log")
        return {node: found[node] for node in wanted}, found_bodies

    return Read(
        """
        select 0::smallint, idx, leaf_hash from ledger.leaves where idx = any(%s::bigint[])
        union all
        select n.level, n.idx, n.hash from ledger.nodes n
            join unnest(%s::smallint[], %s::bigint[]) as w(level, idx) using (level, idx)
        union all
        select -1::smallint, idx, body from ledger.leaves where idx = any(%s::bigint[])
        """,
        (leaves, [lv for lv, _ in inner], [i for _, i in inner], entries),
        parse,
    )


def fetch_subtrees(
    conn: psycopg.Connection[Any], nodes: Iterable[layout.Node], bodies: Iterable[int] = ()
) -> tuple[dict[layout.Node, bytes], dict[int, bytes]]:
    """The hashes of ``nodes`` and the bodies of entries ``bodies``, in one round trip;
    StoreError if any is missing."""
    return alone(conn, subtrees_read(nodes, bodies))


def first_batch_entry_sql(batch_id: str) -> str:
    """The index of the first ``extraction_batch`` entry naming the batch id the SQL
    expression ``batch_id`` gives (null when none does): a scalar subquery."""
    return (
        f"(select min(idx) from ledger.leaves where {EXTRACTION_BATCH_SQL}"
        f" and {BATCH_ID_SQL} = {batch_id})"
    )


def batch_entries(conn: psycopg.Connection[Any], batch_ids: Iterable[str]) -> dict[str, int]:
    """Index of the first ``extraction_batch`` entry naming each batch id (ids no entry
    names are left out); the caller still checks each entry itself."""
    ids = sorted(set(batch_ids))
    if not ids:
        return {}
    with reading(conn):
        rows = conn.execute(
            f"select b, {first_batch_entry_sql('b')} from unnest(%s::text[]) as b", (ids,)
        ).fetchall()
    return {str(batch): int(idx) for batch, idx in rows if idx is not None}


@dataclass(frozen=True)
class TreeHead:
    """A stored tree's size and root."""

    size: int
    root: bytes


@dataclass(frozen=True)
class ProvedRecords:
    """What :func:`proved_from` found: the head of each stored tree asked about (trees
    not stored are left out) and each ``(tree id, content hash)`` proved in it (records
    that are not a leaf of their tree, or whose stored path is short, are left out)."""

    heads: dict[str, TreeHead]
    proofs: dict[tuple[str, bytes], RecordProof]


def records_read(wanted: Sequence[tuple[str, bytes]]) -> Read[list[Any]]:
    """The statement that proves each ``(tree id, content hash)`` in its stored tree (its
    rows, for :func:`proved_from`) as a :class:`~ledger.sessions.Read`, to send with others;
    no statement when nothing is wanted."""
    pairs = sorted(set(wanted))
    if not pairs:
        return Read(None, None, list)
    return Read(
        "select w.n, t.tree_size, t.root_hash, t.leaf_index is not null, p.idx, p.path"
        " from unnest(%s::text[], %s::bytea[]) with ordinality as w(tree, leaf, n)"
        " join ledger.batch_trees t on t.batch_id = w.tree"
        " left join lateral ledger.tree_proof(w.tree, w.leaf) p on true",
        ([tree for tree, _ in pairs], [record_leaf(digest) for _, digest in pairs]),
        list,
    )


def proved_from(
    conn: psycopg.Connection[Any], wanted: Sequence[tuple[str, bytes]], rows: list[Any]
) -> ProvedRecords:
    """Each wanted record's proof and each tree's head, from the rows of
    :func:`records_read` (one more round trip per tree stored without a leaf index, read
    whole)."""
    pairs = sorted(set(wanted))
    heads: dict[str, TreeHead] = {}
    proofs: dict[tuple[str, bytes], RecordProof] = {}
    whole: list[tuple[str, bytes]] = []
    for n, size, root, indexed, index, path in rows:
        tree, digest = pairs[int(n) - 1]
        heads[tree] = TreeHead(int(size), bytes(root))
        if not indexed:
            whole.append((tree, digest))
            continue
        try:
            proofs[tree, digest] = indexed_proof(tree, int(size), index, path)
        except ValueError:
            continue
    for tree in sorted({tree for tree, _ in whole}):
        stored = load_tree(conn, tree)
        for digest in (d for t, d in whole if t == tree and stored is not None):
            try:
                proofs[tree, digest] = stored.prove(digest)  # type: ignore[union-attr]
            except ValueError:
                continue
    return ProvedRecords(heads, proofs)


__all__ = [
    "BATCH_ID_SQL",
    "EXTRACTION_BATCH_SQL",
    "ProvedRecords",
    "TreeHead",
    "batch_entries",
    "fetch_subtrees",
    "first_batch_entry_sql",
    "proved_from",
    "records_read",
    "subtrees_read",
]
