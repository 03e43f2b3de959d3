"""A record deleted at its source reaches the canonical model as an event, never as a silent
disappearance: a Salesforce fulfillment order read from queryAll with ``IsDeleted`` true."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbt_builds import Build, build, database, load
from dbt_records import Batch, at, crm_fulfillment_order, erp_order, iso


@pytest.fixture(scope="module")
def deleted_build(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    order = erp_order("1000001", changed=1, process="A", delivery="", rejection="A")
    allocated = crm_fulfillment_order(1, "1000001", "Allocated", modified=2)
    deleted = {**allocated, "IsDeleted": True, "SystemModstamp": iso(at(5))}
    batches = [
        Batch("erp", at(1.5), [order]),
        Batch("crm", at(3), [allocated]),
        Batch("crm", at(6), [deleted]),
    ]
    with database(pg_server) as url:
        load(url, batches)
        yield build(url, tmp_path_factory.mktemp("dbt-deleted"))


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
