"""The offline verifier (ledger.bundle) on a bundle assembled here from first principles.

Nothing of orderhub's warehouse is involved: records, batch trees, log entries and the
checkpoint are made with the RFC reference implementation, so the verifier is checked
against the format as documented, not against the code that writes bundles.
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
RECORDS = [
    {"id": "A-1", "status": "shipped", "weight": 1.5},
    {"id": "A-2", "status": "delivered", "city": "Zürich"},
    {"id": "A-3", "status": "placed", "note": None},
]


def make_bundle() -> dict[str, Any]:
    digests = [hashlib.sha256(rfc8785.dumps(r)).digest() for r in RECORDS]
    leaves = [leaf_hash(d) for d in digests]
    batch_root = reference.root(leaves)
    entry = {
        "kind": "extraction_batch",
        "payload": {"batch_id": "b-1", "merkle_root": batch_root.hex(), "records_stored": 3},
        "recorded_at": "2026-11-25T00:00:00.000000Z",
    }
    body = rfc8785.dumps(entry)
    log_leaves = [leaf_hash(b"entry 0"), leaf_hash(body), leaf_hash(b"entry 2")]
    note = sign_checkpoint(ORIGIN, 3, reference.root(log_leaves), LOG)
    records = [
        {
            "table": "raw_x.items",
            "system": "x",
            "record_key": r["id"],
            "content_hash": d.hex(),
            "batch_id": "b-1",
            "data": r,
            "batch_proof": {
                "leaf_index": i,
                "tree_size": 3,
                "path": [p.hex() for p in reference.inclusion_proof(i, leaves)],
            },
        }
        for i, (r, d) in enumerate(zip(RECORDS, digests, strict=True))
    ]
    return {
        "format": "orderhub-audit-bundle/v1",
        "subject": {"order_id": "O-1"},
        "log": {"origin": ORIGIN, "checkpoint": note},
        "anchors": [],
        "batches": [
            {
                "batch_id": "b-1",
                "log_index": 1,
                "log_entry": body.decode(),
                "log_proof": [p.hex() for p in reference.inclusion_proof(1, log_leaves)],
            }
        ],
        "records": records,
        "events": [
            {
                "row": {
                    "event_id": f"e{i}",
                    "order_id": "O-1",
                    "source_system": "x",
                    "source_record_key": r["record_key"],
                    "source_content_hash": r["content_hash"],
                    "source_batch_id": "b-1",
                },
                "record": i,
            }
            for i, r in enumerate(records)
        ],
    }


def test_a_bundle_made_from_the_spec_verifies() -> None:
    report = verify_bundle(make_bundle(), LOG.verifier_key())
    assert len(report.checked) == 1 + 1 + 3 + 3


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("records", 1, "data", "city"), "Zurich", "record #1 (raw_x.items A-2)"),
        (("records", 2, "batch_proof", "tree_size"), 4, "record #2"),
        (("records", 0, "batch_proof", "leaf_index"), 1, "record #0"),
        (("batches", 0, "log_index"), 2, "batch b-1"),
        (("batches", 0, "log_entry"), '{"kind":"extraction_batch"}', "batch b-1"),
        (("events", 2, "row", "source_batch_id"), "b-2", "event #2 (e2)"),
        (("events", 0, "row", "order_id"), "O-2", "event #0 (e0)"),
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
            extracted_at="2026-11-25T00:00:00+00:00",
            data=record["data"],
            proof=RecordProof(
                where["leaf_index"], where["tree_size"], tuple(map(bytes.fromhex, where["path"]))
            ),
        )
    for event in made["events"]:
        row = event["row"]
        position = bundle.record_position("x", row["source_record_key"], row["source_content_hash"])
        assert position == event["record"]
        bundle.add_event(row, position)
    note = made["log"]["checkpoint"]
    checkpoint = parse_body(split_note(note)[0])
    built = bundle.build(checkpoint, note, [], "2026-11-25T10:00:00Z")

    assert built["format"] == "orderhub-audit-bundle/v1"
    assert built["subject"] == {"order_id": "O-1"}
    assert built["generated_at"] == "2026-11-25T10:00:00Z"
    assert built["log"] == {
        "origin": ORIGIN,
        "tree_size": 3,
        "root_hash": checkpoint.root_hash.hex(),
        "checkpoint": note,
    }
    assert built["batches"] == [{**batch, "table": "raw_x.items"}]
    assert built["records"] == [
        {**r, "extracted_at": "2026-11-25T00:00:00+00:00"} for r in made["records"]
    ]
    assert built["events"] == made["events"] and built["anchors"] == []
    assert len(verify_bundle(json.loads(json.dumps(built)), LOG.verifier_key()).checked) == 8


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
