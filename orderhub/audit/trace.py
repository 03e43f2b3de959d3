"""``orderhub audit trace``: the audit bundle of one order, read from the warehouse.

:func:`trace_order` reads, against the latest signed checkpoint:

- the latest ``dbt_build`` entry that logged the orders' claims, the order's claim proved
  out of that build's claims tree, and the crosswalk rows the build logged the root of
  (:mod:`orderhub.audit.build_proofs`);
- the order's canonical events (``marts.fct_order_status_events``) and every stored
  version of each source record they come from (:mod:`orderhub.audit.records`), each
  with its proof in its extraction batch's stored Merkle tree (``ledger.batch_trees``,
  written by the loader as the batch succeeded), and each batch's ``extraction_batch``
  entry with its inclusion proof;
- the derivation spec of the project (it must hash to the one the build logged).

It re-derives the events from those records as the verifier will
(:mod:`ledger.bundle.derive`), which also tells which crosswalk fields the bundle must
prove complete and which status values are no event, and refuses to write a bundle whose
events are not what the records derive. Nothing is rebuilt: a batch without a stored tree
is an error naming ``orderhub audit repair-trees``. The document is assembled by
:class:`ledger.bundle.BundleBuilder`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ledger import store
from ledger.batches import RecordProof, StoredTree, load_tree, verify_record
from ledger.bundle import BundleBuilder
from ledger.bundle.derive import Derivation, Version, derive_events
from ledger.bundle.values import read_iso_utc
from ledger.canonical import canonical_hash
from ledger.checkpoint import Checkpoint
from ledger.errors import ProofError
from ledger.receipts import receipts_for
from orderhub.audit.build_proofs import (
    PUBLISH_HINT,
    ProvedBuild,
    claim_proof,
    crosswalk_proofs,
    crosswalk_rows,
    proved_build,
)
from orderhub.audit.queries import (
    CANONICAL_TABLE,
    REPAIR_COMMAND,
    AuditError,
    Progress,
    exists,
    latest_signed,
    logged_batch,
    quiet,
)
from orderhub.audit.records import StoredVersion, record_versions
from orderhub.claims import event_rows
from orderhub.derivation import derivation_spec, event_tables, spec_hash
from orderhub.seeds import PROJECT_DIR


@dataclass(frozen=True)
class _ProvedBatch:
    """A logged batch, its log proof and the stored tree its records are proved from."""

    index: int
    entry: dict[str, Any]
    log_proof: list[bytes]
    tree: StoredTree
    root: bytes


def _proved_batch(
    conn: psycopg.Connection[Any], batch_id: str, checkpoint: Checkpoint
) -> _ProvedBatch:
    """The batch's log entry, its proof in ``checkpoint`` and its stored tree."""
    logged = logged_batch(conn, batch_id)
    if logged is None:
        raise AuditError(f"batch {batch_id} has no extraction_batch entry in the log")
    if logged.index >= checkpoint.size:
        raise AuditError(
            f"batch {batch_id} is log entry {logged.index}, after the latest checkpoint "
            f"(size {checkpoint.size}): publish (sign a checkpoint) before tracing it"
        )
    tree = load_tree(conn, batch_id)
    if tree is None:
        raise AuditError(
            f"batch {batch_id} has no stored Merkle tree (it was logged before the loader "
            f"kept them): run `{REPAIR_COMMAND}`, then trace again"
        )
    if tree.root().hex() != logged.root_hex or tree.size != logged.size:
        raise AuditError(
            f"the stored tree of batch {batch_id} ({tree.size} records, root "
            f"{tree.root().hex()}) is not the tree log entry {logged.index} logged "
            f"({logged.size} records, root {logged.root_hex}): run `{REPAIR_COMMAND}`"
        )
    proof = store.inclusion_proof(conn, logged.index, checkpoint.size)
    return _ProvedBatch(logged.index, logged.event, proof, tree, bytes.fromhex(logged.root_hex))


def _record_proof(batch: _ProvedBatch, record: StoredVersion) -> RecordProof:
    """The record's proof in its batch, checked against the logged root."""
    if canonical_hash(record.data) != record.content_hash:
        raise AuditError(
            f"record {record.record_key} of {record.relation}: its data no longer "
            f"hashes to its content hash {record.content_hash} (run `orderhub audit check`)"
        )
    digest = bytes.fromhex(record.content_hash)
    try:
        where = batch.tree.prove(digest)
        verify_record(digest, where, batch.root)
    except (ValueError, ProofError):
        raise AuditError(
            f"record {record.record_key} ({record.content_hash}) has no valid proof in the "
            f"stored tree of batch {record.batch_id}: the stored tree or the raw row changed "
            f"(`orderhub audit check` tells which; `{REPAIR_COMMAND} --all` rebuilds the trees)"
        ) from None
    return where


def _add_records(
    conn: psycopg.Connection[Any],
    bundle: BundleBuilder,
    versions: Sequence[StoredVersion],
    checkpoint: Checkpoint,
) -> int:
    """Every version with its proof, and its batch once; how many batches."""
    batches: dict[str, _ProvedBatch] = {}
    for record in versions:
        batch = batches.get(record.batch_id)
        if batch is None:
            batch = batches[record.batch_id] = _proved_batch(conn, record.batch_id, checkpoint)
            bundle.add_batch(
                record.batch_id, record.relation, batch.index, batch.entry, batch.log_proof
            )
        bundle.add_record(
            table=record.relation,
            system=record.system,
            record_key=record.record_key,
            content_hash=record.content_hash,
            batch_id=record.batch_id,
            extracted_at=record.extracted_at,
            data=record.data,
            proof=_record_proof(batch, record),
        )
    return len(batches)


def _applied_spec(build: ProvedBuild, project: Path) -> dict[str, Any]:
    """The derivation spec of ``project``, which must be the one ``build`` applied."""
    spec = derivation_spec(project)
    if spec_hash(spec) != build.payload["derivation_spec"]:
        raise AuditError(
            f"the derivation spec of this project is not the one the build at log entry "
            f"{build.index} applied: {PUBLISH_HINT}"
        )
    return spec


def _derive(
    conn: psycopg.Connection[Any],
    build: ProvedBuild,
    versions: Sequence[StoredVersion],
    spec: dict[str, Any],
) -> tuple[Derivation, list[dict[str, Any]]]:
    """What ``spec`` derives from the versions, and the proved crosswalk rows it used."""
    rows = crosswalk_rows(conn, build)
    used: set[tuple[str, str]] = set()

    def rows_of(system: str, field: str) -> list[dict[str, Any]]:
        used.add((system, field))
        return [r for r in rows if r["source_system"] == system and r["source_field"] == field]

    found = [
        Version(n, v.system, v.relation, v.record_key, v.content_hash, v.batch_id,
                read_iso_utc(v.extracted_at, "extracted_at"), v.data)
        for n, v in enumerate(versions)
    ]  # fmt: skip
    derivation = derive_events(spec, found, rows_of, build.payload["crosswalk_version"])
    return derivation, crosswalk_proofs(rows, used)


def _check_events(order_id: str, rows: Sequence[Mapping[str, Any]], derivation: Derivation) -> None:
    served = {r["event_id"]: r for r in rows}
    if served == derivation.events:
        return
    differing = sorted(
        e for e in set(served) | set(derivation.events)
        if served.get(e) != derivation.events.get(e)
    )  # fmt: skip
    raise AuditError(
        f"order {order_id}: the events of {CANONICAL_TABLE} are not what its records derive "
        f"by the derivation spec (events {', '.join(differing[:5])}): rebuild the marts "
        "(`orderhub audit check` names changed rows)"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def trace_order(
    conn: psycopg.Connection[Any],
    order_id: str,
    *,
    progress: Progress = quiet,
    project: Path = PROJECT_DIR,
) -> dict[str, Any]:
    """The audit bundle of ``order_id`` (see :mod:`ledger.bundle`)."""
    latest = latest_signed(conn)
    checkpoint = latest.checkpoint
    if not exists(conn, CANONICAL_TABLE):
        raise AuditError(f"{CANONICAL_TABLE} does not exist yet (run the flow once)")
    build = proved_build(conn, checkpoint)
    claim, proof = claim_proof(conn, order_id, build)
    rows = event_rows(conn, order_id)
    progress(f"order {order_id}: {len(rows)} canonical events, {claim['canonical_status']}")
    spec = _applied_spec(build, project)
    keys = {(r["source_system"], r["source_record_key"]) for r in rows}
    versions = record_versions(conn, keys, event_tables(spec))
    bundle = BundleBuilder({"order_id": order_id})
    batches = _add_records(conn, bundle, versions, checkpoint)
    derivation, crosswalk = _derive(conn, build, versions, spec)
    _check_events(order_id, rows, derivation)
    bundle.set_build(build.index, build.entry, build.proof)
    bundle.set_derivation(spec, crosswalk)
    bundle.set_claim(claim, proof)
    for row in rows:
        key = (row["source_system"], row["source_record_key"], row["source_content_hash"])
        position = bundle.record_position(*key)
        if position is None:  # every version of the event's record was read above
            raise AuditError(f"event {row['event_id']}: its source record {key} is gone")
        bundle.add_event(row, position)
    bundle.set_not_events(derivation.not_events)
    receipts = [receipt for receipt, _ in receipts_for(conn, checkpoint.size, checkpoint.root_hash)]
    progress(
        f"order {order_id}: {len(versions)} source record versions in {batches} batches, "
        f"build at log entry {build.index}, checkpoint {checkpoint.size}, "
        f"{len(receipts)} anchor receipts"
    )
    return bundle.build(checkpoint, latest.note, receipts, _now())
