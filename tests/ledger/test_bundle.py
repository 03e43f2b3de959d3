"""The offline verifier (ledger.bundle) on a bundle assembled here from first principles.

Nothing of orderhub is involved: a tiny derivation spec (one snapshot stream ``x``), its
records, their batch tree, the crosswalk's tree, the claims' tree, the log entries and the
checkpoint are made with the RFC reference implementation and the formulas of
docs/audit-bundle.md written out here (RFC 8785 leaves, MD5 event ids), so the verifier is
checked against the format as documented, not against the code that writes bundles.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import rfc8785

from ledger import reference
from ledger.batches import RecordProof
from ledger.bundle import (
    BundleBuilder,
    BundleError,
    consistency_document,
    verify_bundle,
    verify_consistency_document,
)
from ledger.checkpoint import parse_body, sign_checkpoint
from ledger.hashing import leaf_hash
from ledger.keys import Signer
from ledger.note import split_note

ORIGIN = "auditor.test/log"
LOG = Signer.generate(ORIGIN)
EXTRACTED = "2026-11-25T00:00:00.000000Z"
#: Two versions of one record of order O-1: placed at Zürich, then delivered there.
RECORDS = [
    {"id": "A-1", "order": "O-1", "changed": "2026-11-20T10:00:00Z", "status": " New ",
     "site": "Zürich", "weight": 1.5, "lines": 9007199254740991},
    {"id": "A-1", "order": "O-1", "changed": "2026-11-21T11:30:00.5Z", "status": "DONE",
     "site": "Zürich", "weight": 0.1, "lines": 9007199254740991},
]  # fmt: skip
SPEC: dict[str, Any] = {
    "format": "orderhub-derivation-spec/v1",
    "streams": [
        {
            "system": "x",
            "stream": "items",
            "table": "raw_x.items",
            "kind": "snapshot",
            "record": {"order_ref": {"path": ["order"]}, "version_time": {"path": ["changed"]}},
            "observation": {
                "event_time": {"path": ["changed"]},
                "node": {"path": ["site"]},
                "node_type": {"value": "site"},
                **{
                    k: {"value": None}
                    for k in ("node_region", "node_country", "node_postal_code", "event_message")
                },
            },
            "status_fields": [{"field": {"value": "status"}, "code": {"path": ["status"]}}],
        }
    ],
    "rules": {
        "delivery_system": "wms",
        "tracker_system": "tms",
        "delivered": "delivered",
        "returned": "returned",
        "cancelled": "cancelled",
        "partially_fulfilled": "partially_fulfilled",
        "placed": "placed",
        "unpaid": "unpaid",
        "physical": "physical_movement",
        "default_event_class": "physical_movement",
        "missing_precedence": 99,
        "shipped_statuses": ["delivered"],
    },
    "status_fields": [
        {
            "source_system": "x",
            "source_field": "status",
            "event_class": "document_update",
            "trim_whitespace": True,
            "ignore_case": True,
            "blank_code": None,
        },
    ],
    "source_precedence": [{"source_system": "x", "precedence": 3, "authority_on": None}],
    "clock_skew_tolerances": [],
    "return_nodes": [],
}


def crosswalk_row(field: str, code: str, status: str, rank: int, terminal: bool) -> dict:
    return {
        "source_system": "x", "source_field": field, "source_code": code,
        "canonical_status": status, "cbv_biz_step": "shipping", "cbv_disposition": "in_transit",
        "lifecycle_rank": rank, "is_terminal": terminal, "payment_state": None, "notes": "ü",
    }  # fmt: skip


CROSSWALK = sorted(
    [
        crosswalk_row("status", "done", "delivered", 70, True),
        crosswalk_row("status", "new", "placed", 10, False),
        crosswalk_row("other", "new", "placed", 10, False),
        crosswalk_row("zeta", "new", "placed", 10, False),
    ],
    key=lambda r: (r["source_system"].encode(), r["source_field"].encode(),
                   r["source_code"].encode()),
)  # fmt: skip


def digest(value: Any) -> bytes:
    return hashlib.sha256(rfc8785.dumps(value)).digest()


def tree_of(values: list[Any]) -> tuple[list[bytes], bytes]:
    leaves = [leaf_hash(digest(v)) for v in values]
    return leaves, reference.root(leaves)


def path(index: int, leaves: list[bytes]) -> list[str]:
    return [p.hex() for p in reference.inclusion_proof(index, leaves)]


def event(n: int, code: str, status: str, at: str, rank: int, terminal: bool) -> dict:
    record = RECORDS[n]
    event_id = hashlib.md5(f"x|A-1|status|{code}|{at}".encode()).hexdigest()
    return {
        "event_id": event_id, "order_id": "O-1", "source_system": "x", "source_field": "status",
        "source_code": code, "normalised_code": code.strip().lower(), "canonical_status": status,
        "cbv_biz_step": "shipping", "cbv_disposition": "in_transit", "lifecycle_rank": rank,
        "is_terminal": terminal, "payment_state": None, "is_mapped": True,
        "event_class": "document_update", "source_precedence": 3, "status_precedence": 3,
        "node": "Zürich", "node_type": "site", "node_region": None, "node_country": None,
        "node_postal_code": None, "event_message": None, "event_time": at,
        "is_clock_skewed": False, "shipment_ref": None, "tracking_code": None, "carrier": None,
        "crosswalk_version": CROSSWALK_ROOT.hex(), "source_record_key": "A-1",
        "source_content_hash": digest(record).hex(), "source_batch_id": "b-1",
        "source_extracted_at": EXTRACTED,
    }  # fmt: skip


CROSSWALK_LEAVES, CROSSWALK_ROOT = tree_of(CROSSWALK)
EVENTS = [
    event(0, " New ", "placed", "2026-11-20T10:00:00.000000Z", 10, False),
    event(1, "DONE", "delivered", "2026-11-21T11:30:00.500000Z", 70, True),
]
CLAIM = {
    "order_id": "O-1", "canonical_status": "delivered",
    "status_event_id": EVENTS[1]["event_id"], "status_node": "Zürich",
    "status_shipment_id": None, "updated_at": EVENTS[1]["event_time"],
    "status_since": EVENTS[1]["event_time"], "status_since_event_id": EVENTS[1]["event_id"],
    "payment_state": None, "shipments": [], "event_ids": sorted(e["event_id"] for e in EVENTS),
}  # fmt: skip


def make_bundle(*, legacy: bool = False) -> dict[str, Any]:
    """The bundle of O-1; ``legacy``: its batch logged before batches logged their
    extraction time."""
    record_leaves = [leaf_hash(d) for d in sorted(digest(r) for r in RECORDS)]
    order = sorted(range(2), key=lambda i: digest(RECORDS[i]))
    claims = [CLAIM, {**CLAIM, "order_id": "O-2", "event_ids": []}]
    claim_leaves, claims_root = tree_of(claims)
    batch = {
        "kind": "extraction_batch",
        "recorded_at": EXTRACTED,
        "payload": {
            "batch_id": "b-1",
            "merkle_root": reference.root(record_leaves).hex(),
            "records_stored": 2,
            "extracted_at": EXTRACTED,
            "system": "x",
            "stream": "items",
        },
    }
    if legacy:
        del batch["payload"]["extracted_at"]
    build = {"kind": "dbt_build", "recorded_at": EXTRACTED, "payload": {
        "crosswalk_version": CROSSWALK_ROOT.hex(), "crosswalk_rows": len(CROSSWALK),
        "derivation_spec": hashlib.sha256(rfc8785.dumps(SPEC)).hexdigest(),
        "claims_root": claims_root.hex(), "claims_size": 2}}  # fmt: skip
    bodies = [b"entry 0", rfc8785.dumps(batch), rfc8785.dumps(build)]
    log_leaves = [leaf_hash(b) for b in bodies]
    note = sign_checkpoint(ORIGIN, 3, reference.root(log_leaves), LOG)
    records = [
        {"table": "raw_x.items", "system": "x", "record_key": "A-1",
         "content_hash": digest(r).hex(), "batch_id": "b-1", "extracted_at": EXTRACTED,
         "data": r, "batch_proof": {"leaf_index": order.index(i), "tree_size": 2,
                                    "path": path(order.index(i), record_leaves)}}
        for i, r in enumerate(RECORDS)
    ]  # fmt: skip
    return {
        "format": "orderhub-audit-bundle/v2",
        "subject": {"order_id": "O-1"},
        "log": {"origin": ORIGIN, "checkpoint": note},
        "anchors": [],
        "batches": [{"batch_id": "b-1", "log_index": 1, "log_entry": bodies[1].decode(),
                     "log_proof": path(1, log_leaves)}],
        "records": records,
        "build": {"log_index": 2, "log_entry": bodies[2].decode(),
                  "log_proof": path(2, log_leaves)},
        "derivation": {"spec": SPEC, "crosswalk": [
            {"leaf_index": i, "row": CROSSWALK[i], "path": path(i, CROSSWALK_LEAVES)}
            for i in range(len(CROSSWALK))]},
        "claim": {"order": CLAIM, "leaf_index": 0, "path": path(0, claim_leaves)},
        "events": [{"row": e, "record": i} for i, e in enumerate(EVENTS)],
        "not_events": [],
    }  # fmt: skip


def test_a_bundle_made_from_the_spec_verifies() -> None:
    report = verify_bundle(make_bundle(), LOG.verifier_key())
    assert report.checked[-1].startswith("claim: order O-1 is delivered (event ")
    assert any(line.startswith("events: 2 re-derived from 2 records") for line in report.checked)


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("records", 1, "data", "site"), "Zurich", "record #1 (raw_x.items A-1)"),
        (("records", 1, "batch_proof", "tree_size"), 3, "record #1"),
        (("records", 0, "extracted_at"), "2026-11-25T00:00:01.000000Z", "record #0"),
        (("batches", 0, "log_index"), 2, "batch b-1"),
        (("build", "log_index"), 1, "build"),
        (("derivation", "spec", "source_precedence", 0, "precedence"), 2, "derivation spec"),
        (("derivation", "crosswalk", 1, "row", "lifecycle_rank"), 71, "crosswalk row #1"),
        (("claim", "order", "status_node"), "Bern", "claim row #0"),
        (("events", 1, "row", "canonical_status"), "placed", "event #1"),
        (("events", 0, "row", "node"), "Bern", "event #0"),
        (("events", 0, "row", "event_id"), "0" * 32, "event #0"),
        (("events", 0, "record"), 1, "event #0"),
        (("not_events",), [{"record": 0, "field": "status", "code": "x", "rule": "r"}], "not_"),
    ],
)
def test_each_link_is_checked(path: tuple[Any, ...], value: Any, named: str) -> None:
    bundle = copy.deepcopy(make_bundle())
    target = bundle
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle, LOG.verifier_key())
    assert str(info.value).startswith(named), str(info.value)


def test_a_dropped_event_and_a_dropped_crosswalk_neighbour_are_refused() -> None:
    bundle = make_bundle()
    bundle["events"].pop()
    with pytest.raises(BundleError, match=r"^event [0-9a-f]{32} \(x A-1 status='DONE'\): derived"):
        verify_bundle(bundle, LOG.verifier_key())
    bundle = make_bundle()  # the row after the status field's run is what proves the run ends
    bundle["derivation"]["crosswalk"] = [
        c for c in bundle["derivation"]["crosswalk"] if c["row"]["source_field"] != "zeta"
    ]
    with pytest.raises(BundleError, match=r"^crosswalk: the rows of x/status come without"):
        verify_bundle(bundle, LOG.verifier_key())


def test_a_batch_logged_before_extraction_times_leaves_them_to_the_bundle() -> None:
    bundle = make_bundle(legacy=True)
    report = verify_bundle(bundle, LOG.verifier_key())
    assert any("extracted at ? (not logged" in line for line in report.checked)
    bundle["records"][0]["extracted_at"] = "2026-11-24T00:00:00.000000Z"  # the bundle's word
    with pytest.raises(BundleError, match=r"^event #0 \(.*\): source_extracted_at is"):
        verify_bundle(bundle, LOG.verifier_key())  # yet the events must still follow from it
    logged = make_bundle()  # where the batch logged it, the record must say the same
    logged["records"][0]["extracted_at"] = "2026-11-24T00:00:00.000000Z"
    with pytest.raises(BundleError, match=r"^record #0 .*: its extracted_at is"):
        verify_bundle(logged, LOG.verifier_key())


def test_the_builder_assembles_the_documented_bundle() -> None:
    made = make_bundle()
    bundle = BundleBuilder({"order_id": "O-1"})
    (batch,) = made["batches"]
    proof = [bytes.fromhex(p) for p in batch["log_proof"]]
    bundle.add_batch("b-1", "raw_x.items", 1, json.loads(batch["log_entry"]), proof)
    for record in made["records"]:
        assert bundle.record_position("x", record["record_key"], record["content_hash"]) is None
        where = record["batch_proof"]
        bundle.add_record(
            table=record["table"],
            system="x",
            record_key=record["record_key"],
            content_hash=record["content_hash"],
            batch_id="b-1",
            extracted_at=EXTRACTED,
            data=record["data"],
            proof=RecordProof(
                where["leaf_index"], where["tree_size"], tuple(map(bytes.fromhex, where["path"]))
            ),
        )
    build = made["build"]
    bundle.set_build(
        2, json.loads(build["log_entry"]), list(map(bytes.fromhex, build["log_proof"]))
    )
    bundle.set_derivation(SPEC, made["derivation"]["crosswalk"])
    claim = made["claim"]
    bundle.set_claim(CLAIM, RecordProof(0, 2, tuple(map(bytes.fromhex, claim["path"]))))
    for event in made["events"]:
        row = event["row"]
        position = bundle.record_position("x", row["source_record_key"], row["source_content_hash"])
        assert position == event["record"]
        bundle.add_event(row, position)
    note = made["log"]["checkpoint"]
    checkpoint = parse_body(split_note(note)[0])
    built = bundle.build(checkpoint, note, [], "2026-11-25T10:00:00Z")

    assert built["format"] == "orderhub-audit-bundle/v2"
    assert built["generated_at"] == "2026-11-25T10:00:00Z"
    assert built["log"] == {
        "origin": ORIGIN,
        "tree_size": 3,
        "root_hash": checkpoint.root_hash.hex(),
        "checkpoint": note,
    }
    assert built["batches"] == [{**batch, "table": "raw_x.items"}]
    for name in ("records", "build", "derivation", "claim", "events", "not_events", "anchors"):
        assert built[name] == made[name], name
    verify_bundle(json.loads(json.dumps(built)), LOG.verifier_key())


def test_a_non_canonical_log_entry_is_refused() -> None:
    bundle = make_bundle()
    bundle["batches"][0]["log_entry"] = bundle["batches"][0]["log_entry"].replace(":", ": ", 1)
    with pytest.raises(BundleError, match="not in RFC 8785 canonical form"):
        verify_bundle(bundle, LOG.verifier_key())


def test_consistency_documents() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(9)]
    old = sign_checkpoint(ORIGIN, 4, reference.root(leaves[:4]), LOG)
    new = sign_checkpoint(ORIGIN, 9, reference.root(leaves), LOG)
    document = consistency_document(old, new, reference.consistency_proof(4, leaves))
    assert verify_consistency_document(document, LOG.verifier_key()).checked
    forked = sign_checkpoint(ORIGIN, 9, reference.root([*leaves[:8], leaf_hash(b"x")]), LOG)
    with pytest.raises(BundleError, match=r"^consistency 4 -> 9: "):
        verify_consistency_document({**document, "new": forked}, LOG.verifier_key())
    other = Signer.generate(ORIGIN)
    with pytest.raises(BundleError, match=r"^old checkpoint: "):
        verify_consistency_document(document, other.verifier_key())
