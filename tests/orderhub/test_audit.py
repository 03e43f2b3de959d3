"""orderhub.audit: trace an order into a bundle that verifies offline; catch every changed row;
repair the batch trees a trace reads."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from audit_warehouse import ERP_OTHER, ORDER, AuditWarehouse, publish_payload

from ledger.bundle import BundleError, verify_bundle, verify_consistency_document
from ledger.canonical import canonical_hash
from orderhub.audit import (
    AuditError,
    check_warehouse,
    consistency,
    repair_trees,
    stored_checkpoint,
    trace_order,
)
from orderhub.audit.queries import columns
from orderhub.provenance import PROVENANCE_KINDS

#: The stored trees of extraction batches (the builds' claims trees are kept beside them).
BATCH_TREES = (
    "select batch_id, xmin::text from ledger.batch_trees where batch_id not like 'claims:%'"
)
#: Columns the check compares between the events mart and the view it is built from.
DERIVED_COLUMNS = 33


@pytest.fixture
def warehouse(audit_warehouse: AuditWarehouse) -> AuditWarehouse:
    return audit_warehouse


@pytest.fixture
def bundle(warehouse: AuditWarehouse) -> dict[str, Any]:
    with psycopg.connect(warehouse.url) as conn:
        return trace_order(conn, ORDER)


def sql(warehouse: AuditWarehouse, statement: str, *params: Any) -> None:
    with psycopg.connect(warehouse.url) as conn:
        conn.execute(statement, params)


def findings(warehouse: AuditWarehouse) -> list[str]:
    with psycopg.connect(warehouse.url) as conn:
        return [str(f) for f in check_warehouse(conn, warehouse.log_key).findings]


def test_trace_bundle_verifies_offline(warehouse: AuditWarehouse, bundle: dict[str, Any]) -> None:
    assert bundle["format"] == "orderhub-audit-bundle/v2"
    assert bundle["subject"] == {"order_id": ORDER}
    rows = [e["row"] for e in bundle["events"]]
    assert len(rows) == 6, "three ERP status fields, a second process status, two scans"
    assert [r["table"] for r in bundle["records"]] == [
        "raw_erp.sales_orders",
        "raw_erp.sales_orders",
        "raw_tms.trackers",
    ]
    assert len(bundle["batches"]) == 3
    assert [a["anchor"] for a in bundle["anchors"]] == ["witness"]
    delivered = [r for r in rows if r["node"] == "Köln"]
    assert delivered and delivered[0]["canonical_status"] == "delivered"
    claim = bundle["claim"]["order"]
    assert (claim["canonical_status"], claim["status_node"]) == ("delivered", "Köln")
    assert claim["status_event_id"] == delivered[0]["event_id"]
    assert sorted(r["event_id"] for r in rows) == claim["event_ids"]
    assert [(n["record"], n["rule"]) for n in bundle["not_events"]] == [
        (1, "repeats_previous_version"),
        (1, "repeats_previous_version"),
        (2, "summary_field"),
    ]
    json.loads(json.dumps(bundle))  # plain JSON all the way down

    report = verify_bundle(bundle, warehouse.log_key, witness_keys=[warehouse.witness_key])
    assert any("signed by the trusted log key" in line for line in report.checked)
    assert any(
        "cosignature/v1" in line and "trusted witness key" in line for line in report.checked
    )
    assert any(line.startswith("events: 6 re-derived from 3 records") for line in report.checked)
    assert report.checked[-1].startswith("claim: order SO-1001 is delivered")


def _reroot(batch: dict[str, Any]) -> str:
    """The batch's log entry claiming another Merkle root."""
    return str(batch["log_entry"]).replace('"merkle_root":"', '"merkle_root":"0')


def _reorigin(note: str) -> str:
    """The checkpoint note with its first line changed (the signature no longer covers it)."""
    return "x" + note


def _event(bundle: dict[str, Any], node: str) -> dict[str, Any]:
    return next(e for e in bundle["events"] if e["row"]["node"] == node)


def _drop_record(bundle: dict[str, Any], position: int) -> None:
    """The record at ``position`` and every event and not-event of it taken out."""
    del bundle["records"][position]
    bundle["events"] = [e for e in bundle["events"] if e["record"] != position]
    bundle["not_events"] = [n for n in bundle["not_events"] if n["record"] != position]
    for item in (*bundle["events"], *bundle["not_events"]):
        item["record"] -= item["record"] > position


def _refused(bundle: dict[str, Any], warehouse: AuditWarehouse, **keys: Any) -> str:
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle, warehouse.log_key, **keys)
    return str(info.value)


def test_a_status_edited_in_an_event_is_refused(
    warehouse: AuditWarehouse, bundle: dict[str, Any]
) -> None:
    _event(bundle, "Köln")["row"]["canonical_status"] = "in_transit"
    assert re.match(
        r"event #5 \([0-9a-f]{32}\): canonical_status is 'in_transit', its record derives "
        r"'delivered'$",
        _refused(bundle, warehouse),
    )


def test_a_status_edited_in_the_claim_is_refused(
    warehouse: AuditWarehouse, bundle: dict[str, Any]
) -> None:
    bundle["claim"]["order"]["canonical_status"] = "in_transit"
    assert _refused(bundle, warehouse).startswith("claim row #0 (leaf 0): ")


def test_a_node_edited_is_refused(warehouse: AuditWarehouse, bundle: dict[str, Any]) -> None:
    _event(bundle, "Köln")["row"]["node"] = "Bonn"
    assert _refused(bundle, warehouse).endswith("node is 'Bonn', its record derives 'Köln'")


def test_an_event_id_edited_is_refused(warehouse: AuditWarehouse, bundle: dict[str, Any]) -> None:
    _event(bundle, "Köln")["row"]["event_id"] = "0" * 32
    assert _refused(bundle, warehouse) == (
        f"event #5 ({'0' * 32}): no record of the bundle derives its event_id"
    )


def test_an_event_dropped_is_refused(warehouse: AuditWarehouse, bundle: dict[str, Any]) -> None:
    dropped = _event(bundle, "Köln")
    bundle["events"].remove(dropped)
    assert _refused(bundle, warehouse) == (
        f"event {dropped['row']['event_id']} (tms trk_5e1 tracker.status='delivered'): derived "
        "from the bundle's records but missing from its events"
    )


def test_an_event_dropped_with_its_record_is_refused(
    warehouse: AuditWarehouse, bundle: dict[str, Any]
) -> None:
    delivered = _event(bundle, "Köln")["row"]["event_id"]
    tracker = copy.deepcopy(bundle)
    _drop_record(tracker, 2)  # the tracker and both its scans
    assert _refused(tracker, warehouse).startswith("claim: it names event ")
    tracker["claim"]["order"]["event_ids"].remove(delivered)  # the claim edited to match
    assert _refused(tracker, warehouse).startswith("claim row #0 (leaf 0): ")
    version = copy.deepcopy(bundle)
    _drop_record(version, 1)  # the ERP version that set the process status C
    message = _refused(version, warehouse)
    assert message.startswith("claim: it names event ") and "no record of the bundle" in message


def test_a_witness_key_swapped_inside_the_receipt_is_refused(
    warehouse: AuditWarehouse, bundle: dict[str, Any]
) -> None:
    from ledger.checkpoint import parse_body
    from ledger.cosignature import Cosigner
    from ledger.note import split_note

    # someone else's witness cosigns the same checkpoint and names its own key
    stranger = Cosigner.generate(warehouse.settings.witness_name)
    body = split_note(bundle["log"]["checkpoint"])[0]
    details = bundle["anchors"][0]["details"]
    details["verifier_key"] = stranger.verifier_key()
    details["cosignature"] = stranger.cosign(parse_body(body).body(), details["timestamp"])
    message = _refused(bundle, warehouse, witness_keys=[warehouse.witness_key])
    assert message.startswith("anchors: no receipt is cosigned by the trusted witness key ")
    assert f"anchor #0 (witness, {bundle['anchors'][0]['chain']}) is cosigned by" in message
    # without a trusted witness key, no witness is taken at its receipt's word
    report = verify_bundle(bundle, warehouse.log_key)
    assert any("not checked - cosigned by" in line for line in report.checked)


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (lambda b: b["records"][0]["data"].update(OverallSDProcessStatus="B"), "record #0"),
        (lambda b: b["records"][2]["batch_proof"]["path"].append("00" * 32), "record #2"),
        (lambda b: b["records"][1].update(batch_id=b["records"][0]["batch_id"]), "record #1"),
        (lambda b: b["records"][1].update(extracted_at="2026-01-01T00:00:00.000000Z"), "record #1"),
        (lambda b: b["events"][1]["row"].update(source_content_hash="ab" * 32), "event #1"),
        (lambda b: b["events"][0]["row"].update(order_id="SO-9"), "event #0"),
        (lambda b: b["events"][0].update(record=9), "event #0"),
        (
            lambda b: b["events"][3]["row"].update(event_time="2026-01-01T00:00:00.000000Z"),
            "event #3",
        ),
        (lambda b: b["not_events"].pop(), "not_events"),
        (lambda b: b["batches"][0].update(log_index=b["batches"][0]["log_index"] + 1), "batch"),
        (lambda b: b["batches"][1]["log_proof"].reverse(), "batch"),
        (lambda b: b["batches"][0].update(log_entry=_reroot(b["batches"][0])), "batch"),
        (lambda b: b["build"].update(log_index=2), "build"),
        (lambda b: b["derivation"]["spec"]["rules"].update(delivered="shipped"), "derivation spec"),
        (lambda b: b["derivation"]["crosswalk"].pop(3), "crosswalk"),
        (
            lambda b: b["derivation"]["crosswalk"][5]["row"].update(canonical_status="x"),
            "crosswalk",
        ),
        (lambda b: b["claim"].update(leaf_index=1), "claim"),
        (lambda b: b["log"].update(checkpoint=_reorigin(b["log"]["checkpoint"])), "checkpoint"),
        (lambda b: b["log"].update(tree_size=b["log"]["tree_size"] + 1), "checkpoint"),
        (lambda b: b["anchors"][0].update(tree_size=1), "anchor #0"),
        (lambda b: b.update(format="orderhub-audit-bundle/v1"), "format"),
        (lambda b: b.update(records=[]), "records"),
    ],
)
def test_tampered_bundles_are_refused_naming_the_item(
    warehouse: AuditWarehouse,
    bundle: dict[str, Any],
    tamper: Callable[[dict[str, Any]], None],
    named: str,
) -> None:
    forged = copy.deepcopy(bundle)
    tamper(forged)
    message = _refused(forged, warehouse, witness_keys=[warehouse.witness_key])
    assert message.startswith(named), message


def test_only_the_trusted_keys_are_accepted(
    warehouse: AuditWarehouse, bundle: dict[str, Any]
) -> None:
    from ledger.cosignature import Cosigner
    from ledger.keys import Signer

    other = Signer.generate(warehouse.settings.ledger_origin).verifier_key()
    with pytest.raises(BundleError, match=r"^checkpoint: the note is not signed by"):
        verify_bundle(bundle, other)
    stranger = Cosigner.generate(warehouse.settings.witness_name).verifier_key()
    with pytest.raises(BundleError, match=r"^anchors: no receipt is cosigned by the trusted"):
        verify_bundle(bundle, warehouse.log_key, witness_keys=[stranger])
    unwitnessed = {**bundle, "anchors": []}
    verify_bundle(unwitnessed, warehouse.log_key)
    with pytest.raises(BundleError, match=r"^anchors: no receipt is cosigned"):
        verify_bundle(unwitnessed, warehouse.log_key, witness_keys=[warehouse.witness_key])


def test_trace_refuses_what_it_cannot_prove(warehouse: AuditWarehouse) -> None:
    with (
        psycopg.connect(warehouse.url) as conn,
        pytest.raises(AuditError, match="order 'SO-0' has no canonical event"),
    ):
        trace_order(conn, "SO-0")
    # A record of the order edited behind the log's back: its data no longer hashes.
    sql(
        warehouse,
        "update raw_tms.trackers set data = jsonb_set(data, '{carrier}', '\"UPS\"')"
        " where record_key = 'trk_5e1'",
    )
    with (
        psycopg.connect(warehouse.url) as conn,
        pytest.raises(AuditError, match=r"trk_5e1 of raw_tms\.trackers: its data no longer hashes"),
    ):
        trace_order(conn, ORDER)
    # A record of the order re-hashed: its data no longer hashes to its (new) hash.
    sql(
        warehouse,
        "update raw_erp.sales_orders set content_hash = %s where content_hash = ("
        "select source_content_hash from marts.fct_order_status_events where node = 'S01'"
        " order by event_time limit 1)",
        "00" * 32,
    )
    with (
        psycopg.connect(warehouse.url) as conn,
        pytest.raises(AuditError, match=f"no longer hashes to its content hash {'00' * 32}"),
    ):
        trace_order(conn, ORDER)


def test_a_change_elsewhere_in_a_batch_does_not_stop_proving_intact_records(
    warehouse: AuditWarehouse,
) -> None:
    # the other order's record shares the first batch; it is rewritten with its hash, so
    # the batch's rows no longer give the logged root (`audit check` says so) ...
    forged = {**ERP_OTHER, "ShipToCity": "Bonn"}
    sql(
        warehouse,
        "update raw_erp.sales_orders set data = %s::jsonb, content_hash = %s"
        " where record_key = 'SO-1002'",
        json.dumps(forged),
        canonical_hash(forged),
    )
    # ... but this order's records are still the ones logged, proved by the stored tree
    with psycopg.connect(warehouse.url) as conn:
        bundle = trace_order(conn, ORDER)
    verify_bundle(bundle, warehouse.log_key, witness_keys=[warehouse.witness_key])
    assert any("give root" in f for f in findings(warehouse))


def test_check_is_clean_on_an_untouched_warehouse(warehouse: AuditWarehouse) -> None:
    with psycopg.connect(warehouse.url) as conn:
        report = check_warehouse(conn, warehouse.log_key)
    assert report.clean, report.findings
    assert report.counts == {
        "ledger entries": 6,
        "checkpoints": 1,
        "raw rows": 4,
        "logged batches": 3,
        "canonical rows": 9,
        "derived columns compared": DERIVED_COLUMNS,
    }
    assert not report.notes


def test_repair_stores_only_the_batch_trees_missing_or_wrong(warehouse: AuditWarehouse) -> None:
    def repair_and_list(conn: psycopg.Connection[Any], **kwargs: Any) -> dict[str, str]:
        """Repair (and commit); each stored batch tree's writing transaction."""
        assert not repair_trees(conn, **kwargs).refused
        conn.commit()
        return dict(conn.execute(BATCH_TREES))

    with psycopg.connect(warehouse.url) as conn:
        loaded = dict(conn.execute(BATCH_TREES))
        assert sorted(loaded) == sorted(b.batch_id for b in warehouse.batches)
        assert repair_and_list(conn) == loaded, "trees stored at load time are left alone"
        assert repair_and_list(conn, rebuild_all=True) == loaded, "rebuilt, equal, not written"
        gone, stale, *_ = sorted(loaded)
        conn.execute("delete from ledger.batch_trees where batch_id = %s", (gone,))
        conn.execute(
            "update ledger.batch_trees set root_hash = %s where batch_id = %s",
            (b"\x00" * 32, stale),
        )
        conn.commit()
        report = check_warehouse(conn, warehouse.log_key)
        assert [str(f) for f in report.findings] == [
            f"ledger.batch_trees batch_id={stale}: the stored tree is not the tree of the "
            "batch's logged records (run `orderhub audit repair-trees --all`)"
        ]
        assert report.notes == [
            "1 logged batches have no stored Merkle tree, which `orderhub audit trace` reads: "
            "run `orderhub audit repair-trees`"
        ]
        conn.rollback()
        again = repair_and_list(conn)
        assert check_warehouse(conn, warehouse.log_key).clean
    assert sorted(again) == sorted(loaded)
    assert {b for b in again if again[b] != loaded[b]} == {gone, stale}


def test_repair_refuses_a_batch_whose_rows_changed(warehouse: AuditWarehouse) -> None:
    batch = warehouse.batches[1].batch_id
    sql(warehouse, "delete from ledger.batch_trees where batch_id = %s", batch)
    sql(warehouse, "delete from raw_tms.trackers where record_key = 'trk_5e1'")
    with psycopg.connect(warehouse.url) as conn:
        report = repair_trees(conn)
        stored = conn.execute(f"select count(*) from ({BATCH_TREES}) t").fetchone()
    assert report.stored == [] and report.intact == 2
    assert len(report.refused) == 1 and report.refused[0].startswith(f"batch {batch}: its 0 raw")
    assert "log entry 1 logged 1 records" in report.refused[0]
    assert stored == (2,)


def test_check_names_an_edited_raw_row(warehouse: AuditWarehouse) -> None:
    sql(
        warehouse,
        "update raw_tms.trackers set data = jsonb_set(data, '{carrier}', '\"UPS\"')"
        " where record_key = 'trk_5e1'",
    )
    found = findings(warehouse)
    assert found[0].startswith("raw_tms.trackers record_key=trk_5e1 content_hash=")
    assert "its data now hashes to" in found[0]
    # and the two tracking events derived from that record lose their intact source, and
    # no longer say what the record (as it is now) derives
    assert len(found) == 5, found
    assert all(f.startswith("marts.fct_order_status_events event_id=") for f in found[1:])
    assert sum("is not an intact raw row" in f for f in found) == 2
    assert sum("carrier differ(s) from what its source record derives" in f for f in found) == 2


def test_check_catches_a_row_rewritten_with_its_hash(
    warehouse: AuditWarehouse,
) -> None:
    # data and hash rewritten together: the row hashes fine, its batch no longer does,
    # and the canonical events that pointed at the old version lose their source.
    forged = {**ERP_OTHER, "ShipToCity": "Bonn"}
    sql(
        warehouse,
        "update raw_erp.sales_orders set data = %s::jsonb, content_hash = %s"
        " where record_key = 'SO-1002'",
        json.dumps(forged),
        canonical_hash(forged),
    )
    found = findings(warehouse)
    assert not any("its data now hashes to" in f for f in found), "the row itself is coherent"
    assert any(f.startswith("batch erp-sales_orders-") and "give root" in f for f in found), found
    assert any(
        f.startswith("marts.fct_order_status_events event_id=") and "SO-1002" in f for f in found
    ), found


def test_check_catches_deleted_and_inserted_rows(warehouse: AuditWarehouse) -> None:
    batch = warehouse.batches[1].batch_id
    sql(warehouse, "delete from raw_tms.trackers where record_key = 'trk_5e1'")
    sql(
        warehouse,
        "insert into raw_erp.sales_orders (record_key, content_hash, data, batch_id, extracted_at)"
        " values ('SO-7', %s, '{}'::jsonb, 'erp-sales_orders-forged', now())",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    )
    found = findings(warehouse)
    assert f"batch {batch} (raw_tms.trackers): log entry 1 logged 1 records; none is left" in found
    assert any(f.startswith("batch erp-sales_orders-forged") for f in found), found
    assert sum("is not an intact raw row of a logged batch" in f for f in found) == 2, found


def test_check_names_an_edited_canonical_row(warehouse: AuditWarehouse) -> None:
    sql(
        warehouse,
        "update marts.fct_order_status_events set node = 'Bonn', canonical_status = 'returned'"
        " where node = 'Köln'",
    )
    sql(
        warehouse,
        "update marts.fct_order_status_events set event_time = event_time + interval '1 day'"
        " where node = 'Hamburg'",
    )
    sql(
        warehouse,
        "update marts.fct_order_status_events set event_id = 'forged'"
        " where node = 'S02' and source_field = 'OverallSDProcessStatus'",
    )
    found = findings(warehouse)
    assert len(found) == 3, found
    assert any("canonical_status, node differ(s) from what its source record derives" in f
               for f in found), found  # fmt: skip
    assert any("event_time differ(s) from what its source record derives" in f for f in found)
    forged = [f for f in found if f.startswith("marts.fct_order_status_events event_id=forged")]
    assert len(forged) == 1 and "its event_id is not one its source record derives (" in forged[0]


def test_check_compares_event_ids_with_the_views_own(warehouse: AuditWarehouse) -> None:
    # the view computes another id for one event (as a changed dbt model would): the
    # canonical row's id is no longer derived, and the check names the one that is
    with psycopg.connect(warehouse.url) as conn:
        (event_id,) = conn.execute(
            "select event_id from marts.fct_order_status_events where node = 'Hamburg'"
        ).fetchone() or (None,)
        others = [c for c in columns(conn, "intermediate.int_order_events__mapped")
                  if c != "event_id"]  # fmt: skip
        conn.execute("alter view intermediate.int_order_events__mapped rename to mapped_built")
        conn.execute(
            "create view intermediate.int_order_events__mapped as select"
            " case when node = 'Hamburg' then 'new-id' else event_id end as event_id,"
            f" {', '.join(others)} from intermediate.mapped_built"
        )
    assert findings(warehouse) == [
        f"marts.fct_order_status_events event_id={event_id}: its event_id is not one its "
        "source record derives (new-id)"
    ]
    with psycopg.connect(warehouse.url) as conn:  # a view without the column: a note
        conn.execute("drop view intermediate.int_order_events__mapped")
        conn.execute(
            "create view intermediate.int_order_events__mapped as"
            f" select {', '.join(others)} from intermediate.mapped_built"
        )
    with psycopg.connect(warehouse.url) as conn:
        report = check_warehouse(conn, warehouse.log_key)
    assert report.clean and "derived columns compared" not in report.counts
    assert report.notes == [
        "intermediate.int_order_events__mapped has no event_id column (built by an older dbt "
        "project): derivations not recomputed"
    ]


def test_check_catches_a_rewritten_log(warehouse: AuditWarehouse) -> None:
    with psycopg.connect(warehouse.url) as conn:
        conn.execute("alter table ledger.leaves disable trigger leaves_append_only")
        conn.execute(
            "update ledger.leaves set body = convert_to(replace(convert_from(body, 'UTF8'),"
            " '\"api\"', '\"web\"'), 'UTF8') where idx = 4"
        )
    found = findings(warehouse)
    assert "ledger.leaves idx 4: its body no longer hashes to its leaf hash" in found
    assert "ledger checkpoint 5: the stored entries no longer produce its signed root" in found


def test_a_checkpoint_signed_during_the_check_is_not_a_finding(
    warehouse: AuditWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger import store
    from ledger.keys import load_or_create_signer
    from ledger.log import ProvenanceLog
    from orderhub.settings import SIGNING_KEY_FILE

    settings = warehouse.settings
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    scan = store.scan_leaves

    def scan_while_the_log_grows(*args: Any, **kwargs: Any) -> Any:
        # after the check read the log's size: another writer appends and signs
        origin = settings.ledger_origin
        with ProvenanceLog(warehouse.url, origin, signer, kinds=PROVENANCE_KINDS) as log:
            log.append_events([("publish", publish_payload(f"r{n}")) for n in range(3)])
            log.checkpoint()
        return scan(*args, **kwargs)

    monkeypatch.setattr(store, "scan_leaves", scan_while_the_log_grows)
    with psycopg.connect(warehouse.url) as conn:
        report = check_warehouse(conn, warehouse.log_key)
    assert report.clean, report.findings
    assert report.counts["ledger entries"] == 6 and report.counts["checkpoints"] == 1


def test_consistency_between_stored_checkpoints(warehouse: AuditWarehouse) -> None:
    from ledger.keys import load_or_create_signer
    from ledger.log import ProvenanceLog
    from orderhub.settings import SIGNING_KEY_FILE

    settings = warehouse.settings
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    origin = settings.ledger_origin
    with ProvenanceLog(warehouse.url, origin, signer, kinds=PROVENANCE_KINDS) as log:
        log.append_events([("publish", publish_payload(f"r{n}")) for n in range(12)])
        log.checkpoint()
        old, new = stored_checkpoint(log.conn, 5), stored_checkpoint(log.conn, 18)
        document = consistency(log.conn, old, new, warehouse.log_key)
        report = verify_consistency_document(document, warehouse.log_key)
        assert "extends the log at size 5" in report.checked[-1]
        with pytest.raises(AuditError, match="give the older first"):
            consistency(log.conn, new, old, warehouse.log_key)
        with pytest.raises(AuditError, match="no stored checkpoint of size 9"):
            stored_checkpoint(log.conn, 9)
    forged = {**document, "proof": document["proof"][:-1]}
    with pytest.raises(BundleError, match=r"^consistency 5 -> 18: .*too few"):
        verify_consistency_document(forged, warehouse.log_key)


def test_trace_reads_stored_batch_trees_and_refuses_a_damaged_one(
    warehouse: AuditWarehouse,
) -> None:
    def trees(conn: psycopg.Connection[Any]) -> dict[str, str]:
        return dict(conn.execute(BATCH_TREES))

    with psycopg.connect(warehouse.url) as conn:
        loaded = trees(conn)
        assert len(loaded) == 3, "every batch stored its tree as it loaded"
        first = trace_order(conn, ORDER)
        assert trees(conn) == loaded, "a trace only reads"
        # the hashes of a stored tree go bad (its leaves, which are the siblings on the
        # proofs' first level; or its leaf index, which finds a record): the root still
        # matches the log, the proofs would not; trace refuses instead of writing a bundle
        # that fails
        for damage in (
            "levels = overlay(levels placing decode(repeat('00', tree_size::int * 32), 'hex')"
            " from 1 for tree_size::int * 32)",
            "leaf_index = decode(repeat('00', octet_length(leaf_index)), 'hex')",
        ):
            conn.execute(
                f"update ledger.batch_trees set {damage} where batch_id not like 'claims:%%'"
            )
            conn.commit()
            with pytest.raises(AuditError, match=r"`orderhub audit repair-trees --all` rebuilds"):
                trace_order(conn, ORDER)
            conn.rollback()
            assert len(repair_trees(conn, rebuild_all=True).stored) == 3
            conn.commit()
        again = trace_order(conn, ORDER)
    verify_bundle(again, warehouse.log_key, witness_keys=[warehouse.witness_key])
    assert [r["batch_proof"] for r in again["records"]] == [
        r["batch_proof"] for r in first["records"]
    ]


def test_a_batch_logged_without_a_stored_tree_is_traced_after_the_repair(
    warehouse: AuditWarehouse,
) -> None:
    # a home from before the loader stored trees: its batches were logged, never stored
    sql(warehouse, "delete from ledger.batch_trees")
    with psycopg.connect(warehouse.url) as conn:
        with pytest.raises(AuditError) as info:
            trace_order(conn, ORDER)
        assert "has no stored Merkle tree" in str(info.value)
        assert "run `orderhub audit repair-trees`, then trace again" in str(info.value)
        conn.rollback()
        report = repair_trees(conn)
        conn.commit()
        assert sorted(report.stored) == sorted(b.batch_id for b in warehouse.batches)
        bundle = trace_order(conn, ORDER)
    verify_bundle(bundle, warehouse.log_key, witness_keys=[warehouse.witness_key])
