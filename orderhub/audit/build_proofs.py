"""What ``orderhub audit trace`` proves an order's status against: the logged build.

The reads here are :class:`ledger.sessions.Read` values that a trace sends with its
others (:func:`ledger.sessions.together`); the functions of the same name check their
answers. :func:`build_index_read` finds the latest ``dbt_build`` entry of the checkpoint
that logged the orders' claims (its entry and inclusion proof are read with the batches'
ones). :func:`order_claim` checks the order's claim (and its events) as the marts serve it
now (:func:`orderhub.claims.claim_reads`) and :func:`claim_proof` proves it out of the
claims tree that build stored (``ledger.batch_trees``, ``claims:<log index>``, proved with
the records in one statement; rebuilt from the marts when gone); a claim that is not the
committed one means the marts moved on since that build: publish (run the flow) and trace
again. :func:`crosswalk_read` reads the logged crosswalk version's rows
(``marts.dim_status_crosswalk_versions``) and :func:`crosswalk_rows` checks them against
the logged root (rows equal to the ones last checked are not hashed again);
:func:`crosswalk_proofs` proves the runs of rows a derivation used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from ledger import store
from ledger.batches import BatchTree, RecordProof, StoredTree
from ledger.bulk import ProvedRecords
from ledger.bundle.build import proved_row
from ledger.bundle.format import BUILD_EVENT, CROSSWALK_COLUMNS, CROSSWALK_KEY
from ledger.bundle.tables import key_bytes, ordered, prefix_run, row_hash
from ledger.checkpoint import Checkpoint
from ledger.sessions import Read
from orchestration.derived_state import claims_tree_id
from orderhub.audit.queries import AuditError
from orderhub.claims import EVENTS, claims_tree_of

PUBLISH_HINT = "run the flow (it builds, logs and signs a checkpoint), then trace again"


@dataclass(frozen=True)
class ProvedBuild:
    """A ``dbt_build`` log entry in the checkpoint and its inclusion proof."""

    index: int
    entry: dict[str, Any]
    proof: list[bytes]

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.entry["payload"])


def build_index_read(checkpoint: Checkpoint) -> Read[int | None]:
    """The read of the log index of the latest build of the checkpoint that logged the
    orders' claims (:func:`build_index` checks its answer)."""
    return store.latest_entry_read(BUILD_EVENT, checkpoint.size, "claims_root")


def build_index(checkpoint: Checkpoint, index: int | None) -> int:
    """``index``, the answer of :func:`build_index_read` (its entry and proof are read with
    the batches' ones, :func:`ledger.store.proved_entries`); AuditError when there is none."""
    if index is None:
        raise AuditError(
            f"no {BUILD_EVENT} entry up to checkpoint {checkpoint.size} logged the orders' "
            f"claims (a build from before the audit proved statuses): {PUBLISH_HINT}"
        )
    return index


def order_claim(
    order_id: str, claim: dict[str, Any] | None, events: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's claim as the marts serve it now (read by :func:`orderhub.claims.claim_reads`),
    and its canonical events; AuditError when it has none."""
    if claim is None:
        raise AuditError(f"order {order_id!r} has no canonical event in {EVENTS}")
    return claim, events


def claim_proof(
    conn: psycopg.Connection[Any],
    order_id: str,
    claim: dict[str, Any],
    build: ProvedBuild,
    proved: ProvedRecords,
) -> RecordProof:
    """The claim's proof in the build's claims tree: from ``proved`` (read with the
    records' proofs) when the tree is stored, else out of the tree rebuilt from the marts."""
    tree_id, digest = claims_tree_id(build.index), row_hash(claim)
    proof = proved.proofs.get((tree_id, digest))
    if proof is None and tree_id not in proved.heads:
        tree: BatchTree = claims_tree_of(conn)
        if tree.root().hex() != build.payload["claims_root"]:
            raise AuditError(
                f"the claims tree of the build at log entry {build.index} is no longer stored "
                f"and the marts have changed since: {PUBLISH_HINT}"
            )
        with contextlib.suppress(ValueError):
            proof = tree.stored().prove(digest)
    if proof is None:
        raise AuditError(
            f"order {order_id}: its status in the marts is not the one the build at log entry "
            f"{build.index} committed (a later build changed it): {PUBLISH_HINT}"
        )
    return proof


@dataclass(frozen=True)
class Crosswalk:
    """A crosswalk version's rows in leaf order and their stored tree, as last read."""

    read: list[tuple[Any, ...]]
    rows: list[dict[str, Any]]
    tree: StoredTree


#: The rows last read and checked, by crosswalk version: a trace that reads the same rows
#: again reuses their ordering and tree (the rows are read every time; only the hashing of
#: rows equal to those already hashed is skipped).
_checked: dict[str, Crosswalk] = {}


def crosswalk_read(build_at: int) -> Read[list[tuple[Any, ...]]]:
    """The rows of the crosswalk version the build at log entry ``build_at`` logged, in
    leaf order (the version read from that entry's body in the same statement, so this
    goes with the entry's own read; :func:`crosswalk_rows` checks the rows)."""
    columns = ", ".join(CROSSWALK_COLUMNS)
    return Read(
        f"select {columns} from marts.dim_status_crosswalk_versions"
        " where crosswalk_version = (select ledger.entry(body) -> 'payload' ->>"
        " 'crosswalk_version' from ledger.leaves where idx = %s) order by 1, 2, 3",
        (build_at,),
        list,
    )


def crosswalk_rows(build: ProvedBuild, read: list[tuple[Any, ...]]) -> Crosswalk:
    """The logged crosswalk version's rows (``read`` by :func:`crosswalk_read` for the same
    entry) in leaf order, checked against its root."""
    version = build.payload["crosswalk_version"]
    kept = _checked.get(version)
    if kept is not None and kept.read == read:
        return kept
    rows = ordered((dict(zip(CROSSWALK_COLUMNS, row, strict=True)) for row in read), CROSSWALK_KEY)
    tree = BatchTree(row_hash(r) for r in rows)
    if tree.root().hex() != version or tree.size != build.payload["crosswalk_rows"]:
        raise AuditError(
            f"the crosswalk rows kept for version {version} ({tree.size} rows) do not give "
            f"the version the build at log entry {build.index} logged"
        )
    kept = _checked[version] = Crosswalk(read, rows, tree.stored())
    return kept


def crosswalk_proofs(
    crosswalk: Crosswalk, fields: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Each row of each used ``(system, field)`` and the rows around each run, proved."""
    rows, tree = crosswalk.rows, crosswalk.tree
    keys = [key_bytes(r, CROSSWALK_KEY) for r in rows]
    wanted = sorted({i for s, f in fields for i in prefix_run(keys, (s.encode(), f.encode()))})
    return [
        proved_row(rows[i], RecordProof(i, tree.size, tuple(tree.inclusion_proof(i))))
        for i in wanted
    ]


__all__ = [
    "Crosswalk",
    "ProvedBuild",
    "build_index",
    "build_index_read",
    "claim_proof",
    "crosswalk_proofs",
    "crosswalk_read",
    "crosswalk_rows",
    "order_claim",
]
