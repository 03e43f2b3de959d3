"""What an Airbyte server's destination wrote is taken into ``raw_<system>`` by the embedded
runner's loader: same rows, quarantine and batches, resuming where the last ingest stopped.

No Airbyte server runs here: :func:`connector_stubs.write_airbyte_raw` writes the destination's
raw table (Destinations V2 layout) as the PostgreSQL destination does after a sync.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from connector_stubs import (
    batches,
    expected_rows,
    quarantined,
    raw_rows,
    stored_state,
    table,
    write_airbyte_raw,
)
from postgres_destination import write_destination

from connectors.airbyte_ingest import POSITION_KEY, ingest_system
from connectors.errors import ConnectorError
from connectors.odata import ERP_CURSOR, iso_utc
from ledger import reference
from ledger.hashing import EMPTY_ROOT, leaf_hash
from sandbox.scenario import Scenario

SYSTEM = "erp"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_a_connection_that_never_synced_is_named(db_url: str) -> None:
    with pytest.raises(ConnectorError, match=r"airbyte_internal\.airbyte_erp_raw__stream_sales"):
        ingest_system(SYSTEM, db_url)
    assert stored_state(db_url, SYSTEM) == {}


def test_a_destination_writing_typed_final_tables_only_is_refused_saying_so(
    db_url: str,
) -> None:
    # destination-postgres 3.x without "Raw tables only" writes typed, deduplicated final
    # tables and no raw table: its rows are not the records as sent, so nothing is ingested
    records = Scenario(seed=5, orders=3).records(SYSTEM)
    direct_load = {"raw_data_schema": "airbyte_internal", "disable_type_dedupe": False}
    written = write_destination(db_url, direct_load, "airbyte_erp", "sales_orders", records, T0)
    assert written == ("airbyte_erp", "sales_orders")
    with pytest.raises(ConnectorError, match=r"typed final table .*Raw tables only"):
        ingest_system(SYSTEM, db_url)
    assert stored_state(db_url, SYSTEM) == {} and raw_rows(db_url, table(SYSTEM)) == set()


def test_ingests_once_resumes_and_quarantines(db_url: str) -> None:
    records = Scenario(seed=5, orders=30).records(SYSTEM)
    first, second = records[:20], records[20:]
    write_airbyte_raw(db_url, SYSTEM, first, T0)
    (batch,) = ingest_system(SYSTEM, db_url)
    assert raw_rows(db_url, table(SYSTEM)) == expected_rows(SYSTEM, first)
    assert (batch.records_read, batch.records_new, batch.records_quarantined) == (20, 20, 0)
    newest = iso_utc(max(r["LastChangeDateTime"] for r in first))  # SAP's /Date()/ as ISO
    state = stored_state(db_url, SYSTEM)["sales_orders"]
    assert state[ERP_CURSOR] == newest and state[POSITION_KEY]["raw_id"]

    # the next sync: new records, one seen before (Airbyte re-reads its lookback), one broken
    broken = {**second[0], "LastChangeDateTime": "9999-12-31T00:00:00Z"}
    del broken["SalesOrder"]  # quarantined: its cursor must not move the state
    write_airbyte_raw(db_url, SYSTEM, [first[-1], *second, broken], T0 + timedelta(hours=1))
    (again,) = ingest_system(SYSTEM, db_url)
    assert raw_rows(db_url, table(SYSTEM)) == expected_rows(SYSTEM, records)
    assert (again.records_read, again.records_new, again.records_quarantined) == (
        len(second) + 2,
        len(second),
        1,
    )
    ((key, _, reason, batch_id),) = quarantined(db_url, SYSTEM)
    assert key is None and "SalesOrder" in reason and batch_id == again.batch_id
    newest = iso_utc(max(r["LastChangeDateTime"] for r in records))
    assert stored_state(db_url, SYSTEM)["sales_orders"][ERP_CURSOR] == newest

    # nothing new: an empty batch, the same rows and state
    (idle,) = ingest_system(SYSTEM, db_url)
    assert (idle.records_read, idle.records_new) == (0, 0)
    assert raw_rows(db_url, table(SYSTEM)) == expected_rows(SYSTEM, records)
    assert [row[0] for row in batches(db_url, SYSTEM)] == ["succeeded"] * 3
    # each batch's tree covers the rows it stored, the record seen again only once
    leaves = sorted((k.encode(), bytes.fromhex(h)) for k, h in expected_rows(SYSTEM, second))
    root = reference.root([leaf_hash(digest) for _, digest in leaves])
    assert (again.records_stored, again.merkle_root) == (len(second), root.hex())
    assert (idle.records_stored, idle.merkle_root) == (0, EMPTY_ROOT.hex())
    assert [row[5] for row in batches(db_url, SYSTEM)] == [
        batch.merkle_root,
        again.merkle_root,
        idle.merkle_root,
    ]
