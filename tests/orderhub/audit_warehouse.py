"""A small, real warehouse state to audit, built once per session and copied per test.

Records are loaded into ``raw_erp.sales_orders`` and ``raw_tms.trackers`` by the real
loader (three batches, each storing its Merkle tree as it succeeds), each batch is recorded
in the provenance log as the connector assets do (``orchestration.provenance.
extraction_event``), the dbt project is built for real and its ``dbt_build`` event logged
with the crosswalk, the derivation spec and the orders' claims
(``orchestration.dbt_run.build_and_log``), then a ``publish`` event, a checkpoint signed
with the home's log key and cosigned by the home's witness. Log entries: three batches
(0-2), the build (3), publish (4); checkpoint 5; the witness's anchor event (5).

Order SO-1001: two ERP versions (SD process status A, then C, at store S01) and a DHL
tracker (in transit at Hamburg, delivered at Köln): delivered at Köln. Order SO-1002: one
ERP version. Record times are days before now, so no event is clock-skewed.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from connectors.loader import BatchResult
from connectors.schema import ensure_schema
from connectors.sync import load_records
from ledger.keys import load_or_create_signer, public_key_path
from ledger.log import ProvenanceLog
from ledger.receipts import anchor_latest
from orchestration.anchoring import WITNESS_KEY_FILE, witness_anchor
from orchestration.dbt_run import build_and_log
from orchestration.provenance import extraction_event
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.settings import SIGNING_KEY_FILE, Settings

ORDER = "SO-1001"
OTHER_ORDER = "SO-1002"
_BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)


def at(days: float) -> str:
    """A record time ``days`` after the fixture's base, as the sources send it."""
    return (_BASE + timedelta(days=days)).isoformat().replace("+00:00", "Z")


ERP_V1 = {
    "SalesOrder": ORDER,
    "SalesOrderType": "OR",
    "DistributionChannel": "10",
    "SalesDistrict": "DE-N",
    "ShipToCountry": "DE",
    "TransactionCurrency": "EUR",
    "CreationDate": at(0),
    "LastChangeDateTime": at(0),
    "OverallSDProcessStatus": "A",
    "OverallTotalDeliveryStatus": "",
    "SoldToParty": "C-17",
    "SalesOffice": "S01",
    "TotalNetAmount": 129.5,
    "ShipToCity": "Köln",
    "PurchaseOrderByCustomer": None,
}
ERP_V2 = {**ERP_V1, "LastChangeDateTime": at(2.0625), "OverallSDProcessStatus": "C"}
ERP_OTHER = {**ERP_V1, "SalesOrder": OTHER_ORDER, "SalesOffice": "S02", "TotalNetAmount": 10}
TRACKER = {
    "id": "trk_5e1",
    "tracking_code": "1Z999",
    "updated_at": at(3.67),
    "reference": ORDER,
    "carrier": "DHL",
    "status": "delivered",
    "tracking_details": [
        {
            "status": "in_transit",
            "datetime": at(2.5),
            "tracking_location": {"city": "Hamburg", "country": "DE"},
        },
        {
            "status": "delivered",
            "datetime": at(3.67),
            "tracking_location": {"city": "Köln", "country": "DE"},
        },
    ],
}


def publish_payload(run: str) -> dict[str, Any]:
    """A ``publish`` event's payload, as the checkpoint asset writes it."""
    return {"schema": "api", "views": ["api_orders"], "run_id": run}


@dataclass
class AuditWarehouse:
    """The state built: where it is, the keys to trust, what was loaded."""

    url: str
    settings: Settings
    log_key: str
    log_key_file: Path
    witness_key: str
    batches: list[BatchResult]


#: The batches of the audited state: (system, records, extracted at).
LOADS: list[tuple[str, list[dict[str, Any]], str]] = [
    ("erp", [ERP_V1, ERP_OTHER], at(0)),
    ("tms", [TRACKER], at(3.67)),
    ("erp", [ERP_V2], at(2.0625)),
]


def build(
    url: str, home: Path, loads: list[tuple[str, list[dict[str, Any]], str]] = LOADS
) -> AuditWarehouse:
    """Load ``loads``, log, build, checkpoint and cosign; return what an auditor is given."""
    settings = Settings(home=home, database_url=url)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        conn.commit()
    batches = [load_records(url, system, records, when) for system, records, when in loads]
    key_file = settings.secrets_dir / SIGNING_KEY_FILE
    signer = load_or_create_signer(key_file, settings.ledger_origin)
    with ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        for batch in batches:
            log.append_event("extraction_batch", extraction_event(batch))
        build_and_log(url, log, home / "dbt")
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


def copy(template: AuditWarehouse, home: Path) -> AuditWarehouse:
    """A copy of the template's database and home (keys, witness state) under ``home``."""
    server, _, name = template.url.rpartition("/")
    copied = f"audit_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'create database "{copied}" template "{name}"')
    shutil.copytree(
        template.settings.home, home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dbt")
    )
    settings = Settings(home=home, database_url=f"{server}/{copied}")
    key_file = public_key_path(settings.secrets_dir / SIGNING_KEY_FILE)
    return replace(template, url=settings.database_url, settings=settings, log_key_file=key_file)


def drop(warehouse: AuditWarehouse) -> None:
    server, _, name = warehouse.url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
