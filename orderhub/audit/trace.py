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

A trace is four round trips whatever the order's records or the size of their batches
(:mod:`ledger.bulk`; the independent reads of each step go in one pipeline,
:func:`ledger.sessions.together`): the relations (one query for all, alone, so that a
missing one is named); the checkpoint, the claim and the events (four statements); the
build's log index, the checkpoint's anchor receipts and the record versions of all raw
tables with each batch's log index (three statements); the log entries and inclusion
proofs of the build and every batch, the proofs of every record and of the claim in their
stored trees, and the crosswalk rows of the build's version (three statements): eleven
statements. A tree stored without a leaf index (schema 3) costs a round trip more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ledger import store
from ledger.batches import RecordProof, verify_record
from ledger.bulk import ProvedRecords, proved_from, records_read
from ledger.bundle import BundleBuilder
from ledger.bundle.derive import Derivation, Version, derive_events
from ledger.bundle.tables import row_hash
from ledger.bundle.values import read_iso_utc
from ledger.canonical import canonical_hash
from ledger.checkpoint import Checkpoint
from ledger.errors import ProofError
from ledger.log import latest_checkpoint_read
from ledger.receipts import receipts_read
from ledger.sessions import together
from orchestration.derived_state import claims_tree_id
from orderhub.audit.build_proofs import (
    PUBLISH_HINT,
    Crosswalk,
    ProvedBuild,
    build_index,
    build_index_read,
    claim_proof,
    crosswalk_proofs,
    crosswalk_read,
    crosswalk_rows,
    order_claim,
)
from orderhub.audit.queries import (
    CANONICAL_TABLE,
    NO_LEDGER,
    REPAIR_COMMAND,
    AuditError,
    LoggedBatch,
    Progress,
    quiet,
    require,
    signed,
)
from orderhub.audit.records import StoredVersion, versions_read
from orderhub.claims import claim_from, claim_reads
from orderhub.derivation import event_tables, hashed_spec
from orderhub.seeds import PROJECT_DIR

#: The relations a trace reads besides the ledger, and what their absence means.
_READS = {
    CANONICAL_TABLE: f"{CANONICAL_TABLE} does not exist yet (run the flow once)",
    "marts.dim_status_crosswalk_versions": (
        "marts.dim_status_crosswalk_versions does not exist (run the flow once)"
    ),
}


def _batch_indexes(
    versions: Sequence[StoredVersion], found: dict[str, int], checkpoint: Checkpoint
) -> dict[str, int]:
    """Each batch's ``extraction_batch`` log index (``found`` with the versions), within
    ``checkpoint``."""
    for record in versions:
        if canonical_hash(record.data) != record.content_hash:
            raise AuditError(
                f"record {record.record_key} of {record.relation}: its data no longer "
                f"hashes to its content hash {record.content_hash} (run `orderhub audit check`)"
            )
    for batch_id in dict.fromkeys(v.batch_id for v in versions):
        index = found.get(batch_id)
        if index is None:
            raise AuditError(f"batch {batch_id} has no extraction_batch entry in the log")
        if index >= checkpoint.size:
            raise AuditError(
                f"batch {batch_id} is log entry {index}, after the latest checkpoint "
                f"(size {checkpoint.size}): publish (sign a checkpoint) before tracing it"
            )
    return found  # the versions' batches, each checked above: none other is in it


def _check_tree(batch_id: str, proved: ProvedRecords, logged: LoggedBatch) -> None:
    """The stored tree of the batch is the one its log entry logged."""
    head = proved.heads.get(batch_id)
    if head is None:
        raise AuditError(
            f"batch {batch_id} has no stored Merkle tree (it was logged before the loader "
            f"kept them): run `{REPAIR_COMMAND}`, then trace again"
        )
    if head.root.hex() != logged.root_hex or head.size != logged.size:
        raise AuditError(
            f"the stored tree of batch {batch_id} ({head.size} records, root "
            f"{head.root.hex()}) is not the tree log entry {logged.index} logged "
            f"({logged.size} records, root {logged.root_hex}): run `{REPAIR_COMMAND}`"
        )


def _record_proof(proved: ProvedRecords, record: StoredVersion, root: bytes) -> RecordProof:
    """The record's proof in its batch, checked against the logged root."""
    digest = bytes.fromhex(record.content_hash)
    try:
        where = proved.proofs[record.batch_id, digest]
        verify_record(digest, where, root)
    except (KeyError, ProofError):
        raise AuditError(
            f"record {record.record_key} ({record.content_hash}) has no valid proof in the "
            f"stored tree of batch {record.batch_id}: the stored tree or the raw row changed "
            f"(`orderhub audit check` tells which; `{REPAIR_COMMAND} --all` rebuilds the trees)"
        ) from None
    return where


def _add_records(
    bundle: BundleBuilder,
    versions: Sequence[StoredVersion],
    logged: dict[str, tuple[LoggedBatch, list[bytes]]],
    proved: ProvedRecords,
) -> None:
    """Every version with its proof, and its batch once (its tree checked first)."""
    for record in versions:
        batch, log_proof = logged[record.batch_id]
        if record.batch_id not in bundle.batches:
            _check_tree(record.batch_id, proved, batch)
            bundle.add_batch(record.batch_id, record.relation, batch.index, batch.event, log_proof)
        bundle.add_record(
            table=record.relation,
            system=record.system,
            record_key=record.record_key,
            content_hash=record.content_hash,
            batch_id=record.batch_id,
            extracted_at=record.extracted_at,
            data=record.data,
            proof=_record_proof(proved, record, bytes.fromhex(batch.root_hex)),
        )


def _derive(
    crosswalk: Crosswalk,
    build: ProvedBuild,
    versions: Sequence[StoredVersion],
    spec: dict[str, Any],
) -> tuple[Derivation, list[dict[str, Any]]]:
    """What ``spec`` derives from the versions, and the proved crosswalk rows it used."""
    by_field: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in crosswalk.rows:
        by_field.setdefault((row["source_system"], row["source_field"]), []).append(row)
    used: set[tuple[str, str]] = set()

    def rows_of(system: str, field: str) -> list[dict[str, Any]]:
        used.add((system, field))
        return list(by_field.get((system, field), ()))

    found = [
        Version(n, v.system, v.relation, v.record_key, v.content_hash, v.batch_id,
                read_iso_utc(v.extracted_at, "extracted_at"), v.data)
        for n, v in enumerate(versions)
    ]  # fmt: skip
    derivation = derive_events(spec, found, rows_of, build.payload["crosswalk_version"])
    return derivation, crosswalk_proofs(crosswalk, used)


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
    """The audit bundle of ``order_id`` (see :mod:`ledger.bundle`), in four round trips
    (see the module), one more per tree stored without a leaf index."""
    require(conn, {"ledger.checkpoints": NO_LEDGER, **_READS})
    latest, *marts = together(conn, latest_checkpoint_read(), *claim_reads(order_id))
    checkpoint = signed(latest).checkpoint
    found_claim, found_rows = claim_from(order_id, marts)
    spec, spec_digest = hashed_spec(project)
    keys = {(r["source_system"], r["source_record_key"]) for r in found_rows}
    found_at, receipts, (versions, found_batches) = together(
        conn,
        build_index_read(checkpoint),
        receipts_read(checkpoint.size, checkpoint.root_hash),
        versions_read(keys, event_tables(spec)),
    )
    build_at = build_index(checkpoint, found_at)
    claim, rows = order_claim(order_id, found_claim, found_rows)
    progress(f"order {order_id}: {len(rows)} canonical events, {claim['canonical_status']}")
    batches = _batch_indexes(versions, found_batches, checkpoint)
    wanted = [(claims_tree_id(build_at), row_hash(claim))] + [
        (v.batch_id, bytes.fromhex(v.content_hash)) for v in versions
    ]
    entries, proof_rows, crosswalk_read_rows = together(
        conn,
        store.proved_entries_read([build_at, *batches.values()], checkpoint.size),
        records_read(wanted),
        crosswalk_read(build_at),
    )
    build = ProvedBuild(build_at, *entries[build_at])
    if spec_digest != build.payload["derivation_spec"]:
        raise AuditError(
            f"the derivation spec of this project is not the one the build at log entry "
            f"{build.index} applied: {PUBLISH_HINT}"
        )
    proved = proved_from(conn, wanted, proof_rows)
    proof = claim_proof(conn, order_id, claim, build, proved)
    bundle = BundleBuilder({"order_id": order_id})
    logged = {b: (LoggedBatch(i, entries[i][0]), entries[i][1]) for b, i in batches.items()}
    _add_records(bundle, versions, logged, proved)
    crosswalk = crosswalk_rows(build, crosswalk_read_rows)
    derivation, crosswalk_used = _derive(crosswalk, build, versions, spec)
    _check_events(order_id, rows, derivation)
    bundle.set_build(build.index, build.entry, build.proof)
    bundle.set_derivation(spec, crosswalk_used)
    bundle.set_claim(claim, proof)
    for row in rows:
        key = (row["source_system"], row["source_record_key"], row["source_content_hash"])
        position = bundle.record_position(*key)
        if position is None:  # every version of the event's record was read above
            raise AuditError(f"event {row['event_id']}: its source record {key} is gone")
        bundle.add_event(row, position)
    bundle.set_not_events(derivation.not_events)
    progress(
        f"order {order_id}: {len(versions)} source record versions in {len(batches)} "
        f"batches, build at log entry {build.index}, checkpoint {checkpoint.size}, "
        f"{len(receipts)} anchor receipts"
    )
    return bundle.build(checkpoint, latest.note, [r for r, _ in receipts], _now())
