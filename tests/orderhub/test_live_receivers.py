"""The webhook receivers: each system's signed push is stored through the loader before the
2xx (content hash, batch, Merkle root, ledger event), a bad signature is 401 with nothing
stored, a redelivery stores nothing new, bad payloads are quarantined with their reason, a
push and a later poll of the same record are one raw row, and a flood gets 429."""

from __future__ import annotations

import json

from live_world import SECRETS, live, sandbox_store

from connectors.odata import ERP_CURSOR, iso_utc
from connectors.sync import load_records
from orderhub.live.intake import Item
from orderhub.live.receivers import DELETED_BY, ERP_DELETED_TYPE, read_push
from orderhub.sources import API_SYSTEMS
from sandbox.changes import TERMINAL, move_on
from sandbox.clock import instant_seconds, odata
from sandbox.push import deletion_message, message
from sandbox.store import CURSOR_FIELD, KEY_FIELD


def test_each_system_push_is_stored_with_its_batch_and_ledger_event(db_url: str) -> None:
    store = sandbox_store()
    with live(db_url) as world:
        for system in API_SYSTEMS:
            record = store.records(system)[0]
            answer = world.push(system, record)
            assert answer.status_code == 200, answer.text
            table = {"erp": "sales_orders", "crm": "fulfillment_orders", "wms": "pickings",
                     "tms": "trackers"}[system]  # fmt: skip
            rows = world.query(f"select record_key, batch_id from raw_{system}.{table}")
            assert [r[0] for r in rows] == [str(record[KEY_FIELD[system]])]
            batch = world.query(
                "select status, merkle_root, records_new from orderhub_meta.extraction_batches"
                " where batch_id = %s",
                rows[0][1],
            )
            assert batch[0][0] == "succeeded" and batch[0][1] and batch[0][2] == 1
        events = [json.loads(bytes(r[0])) for r in world.query(
            "select body from ledger.leaves order by idx")]  # fmt: skip
        systems = [e.get("payload", e).get("system") for e in events]
        assert sorted(systems) == sorted(API_SYSTEMS), events[0]
        pending = world.query("select system from orderhub_meta.live_pending")
        assert sorted(p[0] for p in pending) == sorted(API_SYSTEMS)


def test_a_bad_signature_is_401_and_stores_nothing(db_url: str) -> None:
    record = sandbox_store().records("tms")[0]
    with live(db_url) as world:
        body, headers = message("tms", record, "not-the-secret")
        assert world.post("tms", body, headers).status_code == 401
        body, headers = message("erp", sandbox_store().records("erp")[0], SECRETS["erp"])
        headers.pop("authorization")
        assert world.post("erp", body, headers).status_code == 401
        assert world.query("select count(*) from orderhub_meta.push_events") == [(0,)]
        assert world.query("select count(*) from raw_tms.trackers") == [(0,)]
        assert world.counters["rejected_signatures"]["tms"] == 1
        assert world.counters["rejected_signatures"]["erp"] == 1


def test_a_redelivery_stores_nothing_new(db_url: str) -> None:
    record = sandbox_store().records("tms")[0]
    body, headers = message("tms", record, SECRETS["tms"])
    with live(db_url) as world:
        assert world.post("tms", body, headers).status_code == 200
        assert world.post("tms", body, headers).status_code == 200
        assert world.query("select count(*) from orderhub_meta.extraction_batches") == [(1,)]
        assert world.query("select count(*) from orderhub_meta.push_events") == [(1,)]
        assert world.intake.counters["duplicates"] == 1


def test_bad_payloads_are_quarantined_with_their_reason(db_url: str) -> None:
    with live(db_url) as world:
        malformed = b'{"object": "Event", "id": '
        headers = message("tms", {}, SECRETS["tms"])[1]
        from orderhub.live.signatures import expected

        headers["x-hmac-signature"] = expected("tms", SECRETS["tms"], malformed)
        assert world.post("tms", malformed, headers).status_code == 200
        unknown = json.dumps({"object": "Event", "id": "evt_1", "description": "batch.created",
                              "result": {}}).encode()  # fmt: skip
        headers["x-hmac-signature"] = expected("tms", SECRETS["tms"], unknown)
        assert world.post("tms", unknown, headers).status_code == 200
        broken = dict(sandbox_store().records("tms")[0])
        del broken["updated_at"]  # the cursor field is required by the data contract
        assert world.push("tms", broken).status_code == 200
        reasons = [r[0] for r in world.query(
            "select reason from orderhub_meta.quarantine order by reason")]  # fmt: skip
        assert len(reasons) == 3
        assert any("malformed JSON" in r for r in reasons)
        assert any("batch.created" in r for r in reasons)
        assert any("updated_at" in r for r in reasons)
        assert world.query("select count(*) from raw_tms.trackers") == [(0,)]


def test_a_record_pushed_then_polled_is_one_raw_row(db_url: str) -> None:
    store = sandbox_store()
    key = next(r["id"] for r in store.records("tms") if r["status"] not in TERMINAL)
    moved = move_on(store, "tms", key)
    assert moved is not None
    with live(db_url) as world:
        assert world.push("tms", moved).status_code == 200
    # the poll reads the record as the API serves it (the connector drops top-level nulls)
    polled = {k: v for k, v in store.get("tms", key).items() if v is not None}
    result = load_records(db_url, "tms", [polled], polled[CURSOR_FIELD["tms"]])
    assert result.records_new == 0
    assert world.query("select count(*) from raw_tms.trackers") == [(1,)]


def test_a_flood_is_answered_429_with_retry_after(db_url: str) -> None:
    records = sandbox_store().records("tms")
    with live(db_url, queue_size=1, run=False) as world:
        world.intake.submit(Item("tms", read_push("tms", {}, b"{}")))  # fills the queue
        answer = world.push("tms", records[0])
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "1"
        assert world.counters["throttled"]["count"] == 1


def test_a_sap_deletion_event_is_stored_as_a_version_saying_the_order_is_gone(
    db_url: str,
) -> None:
    # SAP's SalesOrder.Deleted carries the key and header fields only; the record is that
    # data, LastChangeDateTime the event's time as the OData API writes it, and the event type
    record = sandbox_store().records("erp")[0]
    body, headers = deletion_message("erp", record, SECRETS["erp"])  # type: ignore[misc]
    with live(db_url) as world:
        assert world.post("erp", body, headers).status_code == 200
        ((key, data),) = world.query("select record_key, data from raw_erp.sales_orders")
    assert key == record["SalesOrder"]
    assert data[DELETED_BY] == ERP_DELETED_TYPE and "to_Item" not in data
    assert data["LastChangeDateTime"] == odata(int(instant_seconds(headers["ce-time"])))
    assert data[ERP_CURSOR] == iso_utc(data["LastChangeDateTime"])  # the connector's cursor
    undated = {k: v for k, v in headers.items() if k != "ce-time"}
    assert read_push("erp", undated, body).reason == (
        "SalesOrder.Deleted event without a valid time"
    )
