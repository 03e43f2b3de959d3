"""The second half of a bundle's check: the status itself, re-derived from the records.

After the records are proved (:mod:`ledger.bundle.verify`), :func:`check_derivation`:

1. proves the ``build`` entry (a ``dbt_build`` event) into the checkpoint and reads what
   it logged: the crosswalk's root and size, the derivation spec's hash, the root and
   size of the tree of the orders' claims;
2. checks that the bundle's spec hashes to the logged one, that each crosswalk row is a
   leaf of the logged crosswalk (in key order), and that the claim is the subject's leaf
   of the logged claims tree;
3. re-derives every canonical event from every record with the spec and the crosswalk
   rows (for each field a record uses, all of that field's rows, proved a complete run),
   and compares: each event row of the bundle column for column; every derived event
   must be in the bundle, every status value that is no event must be listed in
   ``not_events`` with its rule; the claim's event ids must be the bundle's;
4. re-derives the order's claim - status, deciding event, node, since when, payment,
   shipments - from the events by the spec's rules, and compares it with the logged one.

Each failure names the event (or record, or row) and the field that differ.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.bundle.checks import get, logged_entry, non_negative
from ledger.bundle.checks import hex32 as _hex32
from ledger.bundle.derive import EVENT_COLUMNS, Derivation, Version, derive_events
from ledger.bundle.format import (
    BUILD_EVENT,
    BUILD_EVENT_FIELDS,
    CLAIM_KEY,
    CROSSWALK_KEY,
    BundleError,
    Report,
)
from ledger.bundle.rollup import rederive_claim
from ledger.bundle.tables import ProvedRows, key_bytes
from ledger.bundle.values import read_iso_utc
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint


def _build(bundle: Mapping[str, Any], checkpoint: Checkpoint, report: Report) -> dict[str, Any]:
    logged = logged_entry(get(bundle, "build", "bundle"), checkpoint, BUILD_EVENT, "build")
    payload = logged.payload
    for name in BUILD_EVENT_FIELDS:
        if payload.get(name) is None:
            raise BundleError(f"build: log entry {logged.index} does not log {name}")
    report.ok(
        f"build: log entry {logged.index} ({BUILD_EVENT}) is in the checkpoint; crosswalk "
        f"{payload['crosswalk_version']} ({payload['crosswalk_rows']} rows), spec "
        f"{payload['derivation_spec']}, {payload['claims_size']} order claims"
    )
    return payload


def _spec(derivation: Mapping[str, Any], logged: str, report: Report) -> Mapping[str, Any]:
    spec = get(derivation, "spec", "derivation")
    digest = hashlib.sha256(canonical_json(spec)).hexdigest()
    if digest != logged:
        raise BundleError(f"derivation spec: it hashes to {digest}, the build logged {logged}")
    report.ok(f"derivation spec hashes to {digest}, the one the build applied")
    return spec


def _claim(bundle: Mapping[str, Any], payload: Mapping[str, Any], report: Report) -> dict[str, Any]:
    holder = get(bundle, "claim", "bundle")
    order = get(holder, "order", "claim")
    subject = bundle.get("subject") or {}
    if not isinstance(order, Mapping) or order.get("order_id") != subject.get("order_id"):
        raise BundleError(f"claim: it is about {order!r}, the bundle about {subject!r}")
    entry = {"leaf_index": holder.get("leaf_index"), "path": holder.get("path"), "row": order}
    root = _hex32(payload["claims_root"], "build claims_root")
    size = non_negative(payload["claims_size"], "build claims_size")
    ProvedRows([entry], CLAIM_KEY, root, size, "claim")
    report.ok(f"claim of {order['order_id']} is leaf {holder['leaf_index']} of the build's claims")
    return dict(order)


def _versions(
    records: Sequence[Any], spec: Mapping[str, Any], streams: Mapping[str, tuple[Any, Any]]
) -> list[Version]:
    """The records as versions; each record's table must be the stream its batch logged."""
    tables = {s["table"]: (s["system"], s["stream"]) for s in spec["streams"]}
    for i, r in enumerate(records):
        if tables.get(r["table"]) != streams.get(r["batch_id"]):
            raise BundleError(
                f"record #{i} ({r['table']} {r['record_key']}): the spec reads {r['table']} as "
                f"{tables.get(r['table'])}, its batch logged {streams.get(r['batch_id'])}"
            )
    return [
        Version(i, r["system"], r["table"], r["record_key"], r["content_hash"], r["batch_id"],
                read_iso_utc(r["extracted_at"], f"record #{i} extracted_at"), r["data"])
        for i, r in enumerate(records)
    ]  # fmt: skip


def _derive(
    bundle: Mapping[str, Any],
    spec: Mapping[str, Any],
    payload: Mapping[str, Any],
    streams: Mapping[str, tuple[Any, Any]],
    report: Report,
) -> Derivation:
    rows = ProvedRows(
        get(get(bundle, "derivation", "bundle"), "crosswalk", "derivation"),
        CROSSWALK_KEY,
        _hex32(payload["crosswalk_version"], "build crosswalk_version"),
        non_negative(payload["crosswalk_rows"], "build crosswalk_rows"),
        "crosswalk",
    )
    report.ok(f"crosswalk: {len(rows.rows)} rows are leaves of the logged crosswalk, in key order")

    def rows_of(system: str, field: str) -> list[dict[str, Any]]:
        return rows.all_with_prefix(key_bytes({"s": system, "f": field}, ("s", "f")))

    try:
        versions = _versions(bundle["records"], spec, streams)
        return derive_events(spec, versions, rows_of, payload["crosswalk_version"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"derivation spec: cannot be applied ({exc!r})") from exc


def _describe(derived: Mapping[str, Any]) -> str:
    return (
        f"{derived['source_system']} {derived['source_record_key']} "
        f"{derived['source_field']}={derived['source_code']!r}"
    )


def _events(
    bundle: Mapping[str, Any], derivation: Derivation, claim: Mapping[str, Any], report: Report
) -> None:
    records, subject = bundle["records"], claim["order_id"]
    derived = derivation.events
    seen: set[str] = set()
    for i, event in enumerate(get(bundle, "events", "bundle")):
        row = get(event, "row", f"event #{i}")
        item = f"event #{i} ({row.get('event_id', '?')})"
        position = non_negative(get(event, "record", item), f"{item} record")
        mine = derived.get(row.get("event_id"))
        if mine is None:
            raise BundleError(f"{item}: no record of the bundle derives its event_id")
        for column in EVENT_COLUMNS:
            if row.get(column) != mine[column]:
                raise BundleError(
                    f"{item}: {column} is {row.get(column)!r}, its record derives {mine[column]!r}"
                )
        if (
            position >= len(records)
            or records[position]["content_hash"] != mine["source_content_hash"]
        ):
            raise BundleError(f"{item}: it names record #{position}, not the record it comes from")
        seen.add(row["event_id"])
    for event_id, mine in derived.items():
        if mine["order_id"] != subject:
            raise BundleError(
                f"event {event_id} ({_describe(mine)}): its record now belongs to order "
                f"{mine['order_id']!r}, not {subject!r}"
            )
        if event_id not in seen:
            raise BundleError(
                f"event {event_id} ({_describe(mine)}): derived from the bundle's records but "
                "missing from its events"
            )
    listed = Counter(canonical_json(n) for n in bundle.get("not_events") or [])
    if listed != Counter(canonical_json(n) for n in derivation.not_events):
        given, shown = len(derivation.not_events), sum(listed.values())
        raise BundleError(
            "not_events: the status values that are no event are not the ones the records give "
            f"(the records give {given}, the bundle lists {shown})"
        )
    claimed = set(claim.get("event_ids") or [])
    for event_id in sorted(claimed - seen):
        raise BundleError(
            f"claim: it names event {event_id}, which no record of the bundle derives"
        )
    report.ok(
        f"events: {len(seen)} re-derived from {len(records)} records, column for column; "
        f"{len(derivation.not_events)} status values are no event, each by its rule"
    )


def _status(
    claim: Mapping[str, Any], derivation: Derivation, spec: Mapping[str, Any], report: Report
) -> None:
    again = rederive_claim(claim["order_id"], list(derivation.events.values()), spec)
    for name, value in again.items():
        if claim.get(name) != value:
            raise BundleError(f"claim: {name} is {claim.get(name)!r}, the events derive {value!r}")
    report.ok(
        f"claim: order {claim['order_id']} is {claim['canonical_status']} (event "
        f"{claim['status_event_id']}, node {claim['status_node']!r}, since "
        f"{claim['status_since']}), {len(claim['shipments'])} shipments: re-derived from its events"
    )


def check_derivation(
    bundle: Mapping[str, Any],
    checkpoint: Checkpoint,
    streams: Mapping[str, tuple[Any, Any]],
    report: Report,
) -> None:
    """Steps 1-4 of the module; ``streams``: the (system, stream) each batch logged.
    BundleError naming the first item that fails."""
    payload = _build(bundle, checkpoint, report)
    spec = _spec(get(bundle, "derivation", "bundle"), payload["derivation_spec"], report)
    claim = _claim(bundle, payload, report)
    derivation = _derive(bundle, spec, payload, streams, report)
    _events(bundle, derivation, claim, report)
    _status(claim, derivation, spec, report)
