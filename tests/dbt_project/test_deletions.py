"""A record deleted at its source reaches the canonical model as an event, never as a silent
disappearance: a Salesforce fulfillment order read from queryAll with ``IsDeleted`` true, and
an SAP sales order whose ``SalesOrder.Deleted`` business event was pushed (the record the live
receiver makes of it); an SAP item rejected (its reason for rejection) is an event too. An
EasyPost tracker that ends without a delivery says so in its status, ``cancelled`` (EasyPost
publishes no deletion event: a deleted tracker is simply no longer listed, which only the key
reconciliation sees), and that is an event too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from dbt_builds import WORLD_BUILD, Build, build, database, load
from dbt_records import Batch, at, crm_fulfillment_order, erp_order, iso, tms_tracker
from test_audit_derivation import differences

from orderhub.live.receivers import read_push
from sandbox.push import deletion_message


@pytest.fixture(scope="module")
def deleted_build(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    order = erp_order("1000001", changed=1, process="A", delivery="", rejection="A")
    allocated = crm_fulfillment_order(1, "1000001", "Allocated", modified=2)
    deleted = {**allocated, "IsDeleted": True, "SystemModstamp": iso(at(5))}
    two = (("SKU-001", "1"), ("SKU-002", "2"))
    standing = erp_order("1000002", changed=1, process="A", delivery="", rejection="A", items=two)
    rejected = erp_order("1000002", changed=2, process="A", delivery="", rejection="B", items=two)
    rejected["to_Item"]["results"][1]["SalesDocumentRjcnReason"] = "01"
    batches = [
        Batch("erp", at(1.5), [order, standing]),
        Batch("crm", at(3), [allocated]),
        Batch("erp", at(3), [rejected]),
        Batch("crm", at(6), [deleted]),
    ]
    with database(pg_server) as url:
        load(url, batches)
        yield build(url, tmp_path_factory.mktemp("dbt-deleted"), *WORLD_BUILD)


def test_a_deletion_is_an_event_mapped_by_the_crosswalk(deleted_build: Build) -> None:
    rows = deleted_build.query(
        "select source_field, source_code, canonical_status, event_time"
        " from marts.fct_order_status_events where source_system = 'crm' order by event_time"
    )
    assert [(field, code, status) for field, code, status, _ in rows] == [
        ("FulfillmentOrder.Status", "Allocated", "processing"),
        ("FulfillmentOrder.IsDeleted", "true", "problem"),
    ]
    assert rows[-1][3] == at(5)  # when Salesforce deleted it (SystemModstamp)


def test_the_deleted_record_is_kept_and_the_order_flagged(deleted_build: Build) -> None:
    assert deleted_build.query(
        "select count(*), bool_or(is_deleted) from staging.stg_crm__fulfillment_orders"
    ) == [(2, True)]
    assert deleted_build.query(
        "select canonical_status from marts.fct_order_current_status where order_id = '1000001'"
    ) == [("problem",)]
    assert deleted_build.query("select count(*) from marts.fct_unmapped_status_codes") == [(0,)]


def test_a_rejected_item_is_an_event_mapped_by_the_crosswalk(deleted_build: Build) -> None:
    # S/4HANA cancels an item by its reason for rejection (A_SalesOrderItem.
    # SalesDocumentRjcnReason): the first rejection is an event of the order
    rows = deleted_build.query(
        "select source_field, source_code, canonical_status, event_time"
        " from marts.fct_order_status_events where order_id = '1000002'"
        " and starts_with(source_field, 'SalesOrderItem.')"
    )
    assert rows == [("SalesOrderItem.SalesDocumentRjcnReason", "01", "processing", at(2))]


@pytest.fixture(scope="module")
def sap_deleted_build(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    order = erp_order("1000001", changed=1, process="A", delivery="", rejection="A")
    other = erp_order("1000002", changed=1, process="A", delivery="", rejection="A")
    body, headers = deletion_message("erp", order, "secret")  # type: ignore[misc]
    deleted = read_push("erp", headers, body).record
    assert deleted is not None
    cancelled = tms_tracker(
        1, "1000002", [("pre_transit", 2, "Berlin", "DE"), ("cancelled", 4, "Berlin", "DE")]
    )
    batches = [
        Batch("erp", at(1.5), [order, other]),
        Batch("erp", at(3), [deleted]),
        Batch("tms", at(5), [cancelled]),
    ]
    with database(pg_server) as url:
        load(url, batches)
        yield build(url, tmp_path_factory.mktemp("dbt-sap-deleted"), *WORLD_BUILD)


def test_a_sap_deletion_event_is_an_event_mapped_by_the_crosswalk(
    sap_deleted_build: Build,
) -> None:
    rows = sap_deleted_build.query(
        "select source_field, source_code, canonical_status, event_time"
        " from marts.fct_order_status_events where order_id = '1000001' order by event_time"
    )
    assert ("SalesOrder.Deleted", "true", "problem") in [r[:3] for r in rows]
    assert rows[-1][:3] == ("SalesOrder.Deleted", "true", "problem")
    assert rows[-1][3] == at(1) + timedelta(seconds=1)  # the event's time


def test_the_deleted_sales_order_keeps_its_last_version_and_is_flagged(
    sap_deleted_build: Build,
) -> None:
    assert sap_deleted_build.query(
        "select count(*), count(*) filter (where is_deleted),"
        " count(*) filter (where is_latest_version)"
        " from staging.stg_erp__sales_orders where order_id = '1000001'"
    ) == [(2, 1, 1)]
    assert sap_deleted_build.query(
        "select canonical_status from marts.fct_order_current_status where order_id = '1000001'"
    ) == [("problem",)]
    assert sap_deleted_build.query("select count(*) from marts.fct_order_lines") == [(2,)]
    assert sap_deleted_build.query("select count(*) from marts.fct_unmapped_status_codes") == [(0,)]


def test_a_cancelled_tracker_is_a_cancellation_event(sap_deleted_build: Build) -> None:
    rows = sap_deleted_build.query(
        "select source_code, canonical_status, event_time from marts.fct_order_status_events"
        " where source_system = 'tms' and order_id = '1000002' order by event_time"
    )
    assert rows[-1] == ("cancelled", "cancelled", at(4))


def test_the_auditor_rederives_the_deletions(
    deleted_build: Build, sap_deleted_build: Build
) -> None:
    """The audit's verifier (the derivation spec's deletions) derives the events and statuses
    the marts hold for deleted records (tests/dbt_project/test_audit_derivation.py)."""
    for built in (deleted_build, sap_deleted_build):
        orders, found = differences(built.url)
        assert orders >= 1
        assert found == []
