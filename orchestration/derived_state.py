"""What a build of the canonical model derived, logged with its ``dbt_build`` event.

:func:`derived_state` reads, after a dbt invocation, what an audit bundle proves a status
against (``docs/audit-bundle.md``): the crosswalk version the events were mapped with (the
Merkle root the models computed) and how many rows it has, the SHA-256 of the derivation
spec the project applies, and - when the invocation built ``fct_order_current_status`` -
the claims of all orders as a Merkle tree (:mod:`orderhub.claims`): in a colour of the
marts (a write-audit-publish build), from the leaves kept since the colour's last build
with the claims of the orders whose rows changed read again (:mod:`orderhub.claim_leaves`);
in the plain ``marts`` schema, which the live path may write meanwhile, every claim,
streamed. The process holds the tree's hashes, not the claims.
:func:`log_dbt_build` appends the event and keeps the claims tree in ``ledger.batch_trees`` under
``claims:<log index>`` (the latest :data:`KEEP_CLAIM_TREES`), so ``orderhub audit trace``
slices an order's proof out of it instead of re-reading every order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ledger.batches import BatchTree, store_tree
from ledger.bundle.format import BUILD_EVENT
from ledger.log import ProvenanceLog
from orchestration.provenance import crosswalk_version, dbt_build_event
from orderhub.claim_leaves import kept_claims_tree
from orderhub.claims import claims_tree_of
from orderhub.derivation import derivation_spec, spec_hash
from orderhub.seeds import PROJECT_DIR

#: The model whose build makes the claims a build logs.
CLAIMS_MODEL = "model.orderhub.fct_order_current_status"
#: Tree ids of the claims trees, by the log index of their ``dbt_build`` event.
CLAIMS_TREE_PREFIX = "claims:"
KEEP_CLAIM_TREES = 4


@dataclass(frozen=True)
class DerivedState:
    """The payload fields of a ``dbt_build`` event that a bundle reads, and the tree."""

    fields: dict[str, Any]
    tree: BatchTree | None


def claims_tree_id(log_index: int) -> str:
    """The id the claims tree of the ``dbt_build`` event at ``log_index`` is stored under."""
    return f"{CLAIMS_TREE_PREFIX}{log_index:012d}"


def _claims_tree(url: str, marts: str) -> BatchTree:
    """The claims tree of ``marts``: from the kept leaves in a colour (nothing writes it while
    it is not published), every claim streamed in the plain ``marts`` the live path writes."""
    if marts != "marts":
        return kept_claims_tree(url, marts)
    with psycopg.connect(url) as conn:
        return claims_tree_of(conn, marts=marts)


def derived_state(
    url: str, *, claims: bool, project: Path = PROJECT_DIR, marts: str = "marts"
) -> DerivedState:
    """See the module; ``claims``: whether this invocation built the claims' marts;
    ``marts``: the schema it built them in (a write-audit-publish build's colour)."""
    version = crosswalk_version(url, marts)
    rows, tree = None, None
    with psycopg.connect(url) as conn:
        if version is not None:
            found = conn.execute(
                f'select count(*) from "{marts}".dim_status_crosswalk_versions'
                " where crosswalk_version = %s",
                (version,),
            ).fetchone()
            rows = int(found[0]) if found else None
    if claims and version is not None:
        tree = _claims_tree(url, marts)
    fields = {
        "crosswalk_version": version,
        "crosswalk_rows": rows,
        "derivation_spec": spec_hash(derivation_spec(project)),
        "claims_root": None if tree is None else tree.root().hex(),
        "claims_size": None if tree is None else tree.size,
    }
    return DerivedState(fields, tree)


def log_dbt_build(
    log: ProvenanceLog,
    url: str,
    manifest: Mapping[str, Any],
    run_results: Mapping[str, Any],
    *,
    success: bool,
    project: Path = PROJECT_DIR,
    marts: str = "marts",
) -> tuple[int, dict[str, Any]]:
    """Append the invocation's ``dbt_build`` event and keep its claims tree; its log
    index and payload."""
    ran = {result.get("unique_id") for result in run_results.get("results", [])}
    state = derived_state(url, claims=CLAIMS_MODEL in ran, project=project, marts=marts)
    event = dbt_build_event(manifest, run_results, state.fields)
    event["success"] = success
    index = log.append_event(BUILD_EVENT, event)
    if state.tree is not None:
        with psycopg.connect(url) as conn:
            store_tree(conn, claims_tree_id(index), state.tree)
            conn.execute(
                "delete from ledger.batch_trees where batch_id like %s and batch_id not in ("
                " select batch_id from ledger.batch_trees where batch_id like %s"
                " order by batch_id desc limit %s)",
                (CLAIMS_TREE_PREFIX + "%", CLAIMS_TREE_PREFIX + "%", KEEP_CLAIM_TREES),
            )
    return index, event


__all__ = ["CLAIMS_MODEL", "DerivedState", "claims_tree_id", "derived_state", "log_dbt_build"]
