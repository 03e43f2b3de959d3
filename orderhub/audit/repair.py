"""``orderhub audit repair-trees``: store the batch trees a trace needs and the loader did not.

The loader stores each batch's Merkle tree as the batch succeeds; a home whose batches
were logged before it did (or whose ``ledger.batch_trees`` rows were lost or damaged) has
batches ``orderhub audit trace`` cannot prove records of. :func:`repair_trees` rebuilds
the tree of each logged, succeeded batch that has none, or whose stored tree does not have
the size and root its ``extraction_batch`` entry logged (every batch with ``rebuild_all``),
from the batch's raw rows in leaf order, and stores it only when its root and size are the
logged ones. A batch whose rows no longer give its logged root is left alone and reported:
that is a change since it was logged, for ``orderhub audit check`` to name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from connectors.catalog import CONNECTORS
from ledger.batches import BatchTree, TreeDigest, store_tree, stored_digests
from orderhub.audit.queries import Progress, batch_hashes, exists, logged_batch, quiet


@dataclass
class RepairReport:
    """What :func:`repair_trees` did: trees stored, trees already right, batches refused."""

    stored: list[str] = field(default_factory=list)
    intact: int = 0
    refused: list[str] = field(default_factory=list)


def _succeeded_batches(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    if not exists(conn, "orderhub_meta.extraction_batches"):
        return []
    rows = conn.execute(
        "select batch_id, system, stream from orderhub_meta.extraction_batches"
        " where status = 'succeeded' order by started_at, batch_id"
    ).fetchall()
    return [(str(b), str(s), str(t)) for b, s, t in rows]


def repair_trees(
    conn: psycopg.Connection[Any], *, rebuild_all: bool = False, progress: Progress = quiet
) -> RepairReport:
    """Rebuild and store missing or wrong batch trees, each checked against its log entry.

    Writes in the caller's transaction: commit it to keep the trees.
    """
    report = RepairReport()
    stored = stored_digests(conn)
    for batch_id, system, stream in _succeeded_batches(conn):
        logged = logged_batch(conn, batch_id)
        if logged is None or system not in CONNECTORS:
            continue  # not logged: there is no root to prove records against
        have = stored.get(batch_id)
        logged_root = bytes.fromhex(logged.root_hex)
        as_logged = have is not None and (have.size, have.root) == (logged.size, logged_root)
        if as_logged and not rebuild_all:
            report.intact += 1
            continue
        tree = BatchTree(batch_hashes(conn, CONNECTORS[system].raw_schema, stream, batch_id))
        if (tree.size, tree.root()) != (logged.size, logged_root):
            report.refused.append(
                f"batch {batch_id}: its {tree.size} raw rows give root {tree.root().hex()}, "
                f"log entry {logged.index} logged {logged.size} records with root "
                f"{logged.root_hex}: rows changed since they were logged (run `orderhub audit "
                "check`)"
            )
            continue
        if have == TreeDigest.of(tree):
            report.intact += 1
            continue
        store_tree(conn, batch_id, tree)
        report.stored.append(batch_id)
        progress(f"batch {batch_id}: tree of {tree.size} records stored")
    return report
