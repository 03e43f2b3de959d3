"""What ``orderhub audit trace`` proves an order's status against: the logged build.

:func:`proved_build` finds the latest ``dbt_build`` entry of the checkpoint that logged
the orders' claims, with its inclusion proof. :func:`claim_proof` reads the order's claim
from the marts now and proves it out of the claims tree that build stored
(``ledger.batch_trees``, ``claims:<log index>``; rebuilt from the marts when gone); a claim
that is not the committed one means the marts moved on since that build: publish (run
the flow) and trace again. :func:`crosswalk_rows` reads the logged crosswalk version's
rows (``marts.dim_status_crosswalk_versions``) and checks them against the logged root;
:func:`crosswalk_proofs` proves the runs of rows a derivation used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from ledger import store
from ledger.batches import BatchTree, IndexedTree, RecordProof, StoredTree, open_tree
from ledger.bundle.build import proved_row
from ledger.bundle.format import BUILD_EVENT, CROSSWALK_COLUMNS, CROSSWALK_KEY
from ledger.bundle.tables import key_bytes, ordered, prefix_run, row_hash, table_tree
from ledger.checkpoint import Checkpoint
from orchestration.derived_state import claims_tree_id
from orderhub.audit.queries import AuditError, exists
from orderhub.claims import EVENTS, claims_tree, order_claims

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


def proved_build(conn: psycopg.Connection[Any], checkpoint: Checkpoint) -> ProvedBuild:
    """The latest build of the checkpoint that logged the orders' claims."""
    index = store.latest_entry(conn, BUILD_EVENT, checkpoint.size, "claims_root")
    if index is None:
        raise AuditError(
            f"no {BUILD_EVENT} entry up to checkpoint {checkpoint.size} logged the orders' "
            f"claims (a build from before the audit proved statuses): {PUBLISH_HINT}"
        )
    entry, _ = store.leaf(conn, index)
    return ProvedBuild(index, entry, store.inclusion_proof(conn, index, checkpoint.size))


def _claims_tree(conn: psycopg.Connection[Any], build: ProvedBuild) -> IndexedTree | StoredTree:
    stored = open_tree(conn, claims_tree_id(build.index))
    if stored is not None:
        return stored
    tree: BatchTree = claims_tree(order_claims(conn))
    if tree.root().hex() != build.payload["claims_root"]:
        raise AuditError(
            f"the claims tree of the build at log entry {build.index} is no longer stored and "
            f"the marts have changed since: {PUBLISH_HINT}"
        )
    return tree.stored()


def claim_proof(
    conn: psycopg.Connection[Any], order_id: str, build: ProvedBuild
) -> tuple[dict[str, Any], RecordProof]:
    """The order's claim and its proof in the build's claims tree."""
    claim = order_claims(conn, [order_id]).get(order_id)
    if claim is None:
        raise AuditError(f"order {order_id!r} has no canonical event in {EVENTS}")
    tree = _claims_tree(conn, build)
    try:
        proof = tree.prove(row_hash(claim))
    except ValueError:
        raise AuditError(
            f"order {order_id}: its status in the marts is not the one the build at log entry "
            f"{build.index} committed (a later build changed it): {PUBLISH_HINT}"
        ) from None
    return claim, proof


def crosswalk_rows(conn: psycopg.Connection[Any], build: ProvedBuild) -> list[dict[str, Any]]:
    """The logged crosswalk version's rows in leaf order, checked against its root."""
    version = build.payload["crosswalk_version"]
    if not exists(conn, "marts.dim_status_crosswalk_versions"):
        raise AuditError("marts.dim_status_crosswalk_versions does not exist (run the flow once)")
    columns = ", ".join(CROSSWALK_COLUMNS)
    rows = [
        dict(zip(CROSSWALK_COLUMNS, row, strict=True))
        for row in conn.execute(
            f"select {columns} from marts.dim_status_crosswalk_versions"
            " where crosswalk_version = %s",
            (version,),
        )
    ]
    tree = table_tree(rows, CROSSWALK_KEY)
    if tree.root().hex() != version or tree.size != build.payload["crosswalk_rows"]:
        raise AuditError(
            f"the crosswalk rows kept for version {version} ({tree.size} rows) do not give "
            f"the version the build at log entry {build.index} logged"
        )
    return ordered(rows, CROSSWALK_KEY)


def crosswalk_proofs(
    rows: list[dict[str, Any]], fields: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Each row of each used ``(system, field)`` and the rows around each run, proved."""
    keys = [key_bytes(r, CROSSWALK_KEY) for r in rows]
    tree = BatchTree(row_hash(r) for r in rows).stored()
    wanted = sorted({i for s, f in fields for i in prefix_run(keys, (s.encode(), f.encode()))})
    return [
        proved_row(rows[i], RecordProof(i, tree.size, tuple(tree.inclusion_proof(i))))
        for i in wanted
    ]


__all__ = [
    "ProvedBuild",
    "claim_proof",
    "crosswalk_proofs",
    "crosswalk_rows",
    "proved_build",
]
