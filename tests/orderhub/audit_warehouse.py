"""A small, real warehouse state to audit, built without running the whole flow.

Records are loaded into ``raw_erp.sales_orders`` and ``raw_tms.trackers`` by the real
loader (three batches, each storing its Merkle tree as it succeeds), each batch is recorded
in the provenance log as the connector assets do (``orchestration.provenance.
extraction_event``), canonical events are written into ``marts.fct_order_status_events``
by hand with their lineage columns (and a stand-in for the dbt view they derive from,
which carries the ``event_id`` the dbt model computes), then a checkpoint is signed with
the home's log key and cosigned by the home's witness.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from connectors.catalog import SYSTEMS
from connectors.loader import BatchResult
from connectors.schema import ensure_schema
from connectors.sync import load_records
from ledger.keys import load_or_create_signer, public_key_path
from ledger.log import ProvenanceLog
from ledger.receipts import anchor_latest
from orchestration.anchoring import WITNESS_KEY_FILE, witness_anchor
from orchestration.provenance import dbt_build_event, extraction_event
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.settings import SIGNING_KEY_FILE, Settings

ORDER = "SO-1001"
OTHER_ORDER = "SO-1002"
CROSSWALK = "cw-3f2a"

ERP_V1 = {
    "SalesOrder": ORDER,
    "LastChangeDateTime": "2026-10-01T08:00:00Z",
    "OverallSDProcessStatus": "A",
    "OverallTotalDeliveryStatus": "",
    "SoldToParty": "C-17",
    "TotalNetAmount": 129.5,
    "ShipToCity": "Köln",
    "PurchaseOrderByCustomer": None,
}
ERP_V2 = {**ERP_V1, "LastChangeDateTime": "2026-10-03T09:30:00Z", "OverallSDProcessStatus": "C"}
ERP_OTHER = {**ERP_V1, "SalesOrder": OTHER_ORDER, "TotalNetAmount": 10}
TRACKER = {
    "id": "trk_5e1",
    "updated_at": "2026-10-04T16:05:09Z",
    "reference": ORDER,
    "carrier": "DHL",
    "tracking_details": [
        {
            "status": "in_transit",
            "datetime": "2026-10-03T12:00:00Z",
            "tracking_location": {"city": "Hamburg", "country": "DE"},
        },
        {
            "status": "delivered",
            "datetime": "2026-10-04T16:05:09Z",
            "tracking_location": {"city": "Köln", "country": "DE"},
        },
    ],
}

#: The event id as the dbt intermediate model computes it (macro iso_utc for the time).
EVENT_ID_SQL = (
    "md5(concat_ws('|', source_system, source_record_key, source_field,"
    " coalesce(source_code, ''),"
    " to_char(event_time at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))"
)


def publish_payload(run: str) -> dict[str, Any]:
    """A ``publish`` event's payload, as the checkpoint asset writes it."""
    return {"schema": "api", "views": ["api_orders"], "run_id": run}


#: fct_order_status_events as the dbt model builds it (types as in PostgreSQL).
FCT_COLUMNS = """
    order_id text, source_system text, source_field text, source_code text,
    canonical_status text, cbv_biz_step text, cbv_disposition text, lifecycle_rank integer,
    is_terminal boolean, is_mapped boolean, source_precedence integer,
    status_precedence integer, node text, node_country text, event_time timestamptz,
    crosswalk_version text, source_record_key text, content_hash text, batch_id text,
    extracted_at timestamptz
"""


@dataclass
class AuditWarehouse:
    """The state built: where it is, the keys to trust, what was loaded."""

    url: str
    settings: Settings
    log_key: str
    log_key_file: Path
    witness_key: str
    batches: list[BatchResult]


def _mapped(
    record: dict[str, Any], system: str, field: str, code: str, status: str, **extra: Any
) -> dict[str, Any]:
    return {
        "source_system": system,
        "source_field": field,
        "source_code": code,
        "canonical_status": status,
        "cbv_biz_step": extra.get("biz_step"),
        "cbv_disposition": extra.get("disposition"),
        "lifecycle_rank": extra.get("rank", 1),
        "is_terminal": extra.get("terminal", False),
        "is_mapped": True,
        "source_precedence": 1 if system == "erp" else 2,
        "status_precedence": 1,
        "node": extra.get("node"),
        "node_country": extra.get("country"),
        "event_time": extra["at"],
        "crosswalk_version": CROSSWALK,
        "source_record_key": str(record.get("SalesOrder") or record.get("id")),
    }


def write_canonical(conn: psycopg.Connection[Any]) -> None:
    """The canonical events of the loaded records, and a stand-in for the dbt view they
    derive from (``intermediate.int_order_events__mapped``, same columns)."""
    from ledger.canonical import canonical_hash

    def version(system: str, record: dict[str, Any]) -> tuple[str, str]:
        table = f"raw_{system}.{SYSTEMS[system].streams[0].name}"
        digest = canonical_hash(record)
        row = conn.execute(
            f"select batch_id, extracted_at from {table} where content_hash = %s", (digest,)
        ).fetchone()
        assert row is not None, (system, record)
        return digest, row

    events = [
        (ERP_V1, _mapped(ERP_V1, "erp", "OverallSDProcessStatus", "A", "processing",
                         at="2026-10-01T08:00:00Z", node="store-7", order=ORDER)),
        (ERP_V2, _mapped(ERP_V2, "erp", "OverallSDProcessStatus", "C", "delivered",
                         at="2026-10-03T09:30:00Z", node="store-7", terminal=True, rank=9)),
        (TRACKER, _mapped(TRACKER, "tms", "tracking_details.status", "in_transit", "in_transit",
                          at="2026-10-03T12:00:00Z", node="Hamburg", country="DE",
                          biz_step="shipping", disposition="in_transit", rank=6)),
        (TRACKER, _mapped(TRACKER, "tms", "tracking_details.status", "delivered", "delivered",
                          at="2026-10-04T16:05:09Z", node="Köln", country="DE",
                          biz_step="receiving", disposition="completeness_verified", rank=9,
                          terminal=True)),
        (ERP_OTHER, _mapped(ERP_OTHER, "erp", "OverallSDProcessStatus", "A", "processing",
                            at="2026-10-01T08:00:00Z", node="store-2")),
    ]  # fmt: skip
    conn.execute("create schema if not exists audit_test")
    conn.execute("create schema if not exists intermediate")
    conn.execute("create schema if not exists marts")
    conn.execute(f"create table audit_test.mapped ({FCT_COLUMNS})")
    for record, event in events:
        system = event["source_system"]
        digest, (batch_id, extracted_at) = version(system, record)
        order_id = record.get("SalesOrder") or record.get("reference")
        row = {**event, "order_id": order_id, "content_hash": digest, "batch_id": batch_id}
        row["extracted_at"] = extracted_at
        columns = ", ".join(row)
        values = ", ".join(["%s"] * len(row))
        conn.execute(
            f"insert into audit_test.mapped ({columns}) values ({values})", list(row.values())
        )
    conn.execute(
        "create view intermediate.int_order_events__mapped as"
        f" select {EVENT_ID_SQL} as event_id, * from audit_test.mapped"
    )
    conn.execute(
        """
        create table marts.fct_order_status_events as
        select event_id, order_id, source_system, source_field,
            source_code, canonical_status, cbv_biz_step, cbv_disposition, lifecycle_rank,
            is_terminal, is_mapped, source_precedence, status_precedence, node, node_country,
            event_time, crosswalk_version, source_record_key,
            content_hash as source_content_hash, batch_id as source_batch_id,
            extracted_at as source_extracted_at
        from intermediate.int_order_events__mapped
        """
    )


def build(url: str, home: Path) -> AuditWarehouse:
    """Load, log, derive, checkpoint and cosign; return what an auditor is given."""
    settings = Settings(home=home, database_url=url)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        conn.commit()
    batches = [
        load_records(url, "erp", [ERP_V1, ERP_OTHER], "2026-10-01T08:00:00Z"),
        load_records(url, "tms", [TRACKER], "2026-10-04T16:05:09Z"),
        load_records(url, "erp", [ERP_V2], "2026-10-03T09:30:00Z"),
    ]
    key_file = settings.secrets_dir / SIGNING_KEY_FILE
    signer = load_or_create_signer(key_file, settings.ledger_origin)
    with ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        for batch in batches:
            log.append_event("extraction_batch", extraction_event(batch))
        run = {"metadata": {"invocation_id": "inv-1"}}
        log.append_event("dbt_build", dbt_build_event({}, run, CROSSWALK))
        with log.conn.transaction():
            write_canonical(log.conn)
        log.append_event("publish", publish_payload("run-1"))
        log.checkpoint()
        done, failed = anchor_latest(log, [witness_anchor(settings, log, signer)])
        assert not failed and len(done) == 1, failed
    witness_key = public_key_path(settings.secrets_dir / WITNESS_KEY_FILE).read_text().strip()
    return AuditWarehouse(
        url=url,
        settings=settings,
        log_key=signer.verifier_key(),
        log_key_file=public_key_path(key_file),
        witness_key=witness_key,
        batches=batches,
    )
