"""Helpers for the connector tests: sandboxes, configs, ground truth and warehouse read-backs.

Every connector test talks to the real sandbox (``sandbox``) over HTTP, serving a
scenario or the small hand-made :func:`stub_records`, with faults from a
:class:`~sandbox.faults.FaultPlan` where a test needs them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
import rfc8785
from postgres_destination import write_destination

from connectors.airbyte_config import Warehouse, destination_namespace
from connectors.catalog import SYSTEMS
from connectors.config import source_config
from connectors.loader import BatchResult
from connectors.sync import read_state, sync_system
from orderhub.sources import SOURCE_OPTIONS
from sandbox.credentials import SandboxCredentials
from sandbox.faults import FaultPlan
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.store import SandboxStore, wire_time

#: Bounds every connector run, so a sandbox that pages forever fails the test instead of hanging.
TIMEOUT = 120
#: Page sizes small enough that a scenario of a few dozen orders spans several pages.
PAGE_SIZE = {"erp": 7, "crm": 9, "wms": 25, "tms": 8}
Sandbox = tuple[SandboxServer, SandboxCredentials]


def _ts(i: int) -> str:
    return f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}Z"


def stub_records(count: int = 45) -> dict[str, list[dict[str, Any]]]:
    """A few records per system shaped like docs/sources.md (floats, nesting, `false`, null)."""
    return {
        "erp": [
            {
                "SalesOrder": str(1000001 + i),
                "LastChangeDateTime": _ts(i),
                "TotalNetAmount": f"{i * 3}.50",
                "OverallTotalDeliveryStatus": "",
                "to_Item": {"results": [{"SalesOrderItem": "10", "Material": "SKU-00é"}]},
            }
            for i in range(count)
        ],
        "crm": [
            {
                "attributes": {"type": "FulfillmentOrder", "url": f"/x/{i}"},
                "Id": f"0a3{i:015d}",
                "LastModifiedDate": _ts(i),
                "SystemModstamp": _ts(i),
                "IsDeleted": False,
                "OrderSummary": {"OrderNumber": str(1000001 + i)},
            }
            for i in range(count)
        ],
        "wms": [
            {
                "id": i + 1,
                "write_date": _ts(i),
                "date_done": False,
                "location_id": [8, "WH1/Stock"],
                "move_ids": [{"product": "SKU-001", "quantity": 2.0}, {"quantity": 0.5}],
            }
            for i in range(count)
        ],
        "tms": [
            {"id": f"trk_{i:032x}", "created_at": _ts(i), "updated_at": _ts(i), "signed_by": None}
            for i in range(count)
        ],
    }


def wire_cursor(system: str, instant: str) -> str:
    """The ISO ``instant`` (``...Z``) as ``system`` writes its cursor (Odoo: no T, no Z)."""
    return wire_time(system, int(datetime.fromisoformat(instant).timestamp()))


def start_sandbox(
    source: Scenario | SandboxStore | Mapping[str, list[dict[str, Any]]],
    faults: str | FaultPlan = "",
    seed: int = 7,
) -> tuple[SandboxServer, SandboxCredentials]:
    """A started sandbox serving a scenario, a store or explicit records, with ``faults``."""
    credentials = SandboxCredentials.generate()
    plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults, seed)
    if isinstance(source, Scenario):
        server = SandboxServer(source, credentials, faults=plan)
    else:
        store = source if isinstance(source, SandboxStore) else SandboxStore(source)
        server = SandboxServer(None, credentials, store=store, faults=plan)
    return server.start(), credentials


def sandbox_config(
    server: SandboxServer, credentials: SandboxCredentials, system: str, **options: Any
) -> dict[str, Any]:
    """The connector config of ``system`` pointing at ``server``, with fast retries."""
    options.setdefault("page_size", 10)
    options.setdefault("backoff_factor", 0.05)
    options.setdefault("max_retries", 3)
    secrets = options.pop("secrets", None) or credentials.for_system(system)
    options.setdefault("options", SOURCE_OPTIONS.get(system))
    return source_config(system, server.base_url(system), secrets, **options)


def wrong_secrets(credentials: SandboxCredentials, system: str) -> dict[str, str]:
    """``system``'s credentials with the last one (key, secret, refresh token) wrong."""
    secrets = credentials.for_system(system)
    last = list(secrets)[-1]
    return {**secrets, last: "not-the-" + last.replace("_", "-")}


def as_delivered(record: Mapping[str, Any], system: str) -> dict[str, Any]:
    """A record of ``system`` as the Airbyte protocol delivers it: with the cursor field the
    connector derives (the ERP's ``LastChangeDateTime_utc``), top-level nulls left out."""
    read = SYSTEMS[system].streams[0].as_read(record)
    return {name: value for name, value in read.items() if value is not None}


def reference_hash(record: Mapping[str, Any]) -> str:
    """The content hash computed with the ``rfc8785`` reference, independently of the loader."""
    return hashlib.sha256(rfc8785.dumps(dict(record))).hexdigest()


def key_of(system: str, record: Mapping[str, Any]) -> str:
    return str(record[SYSTEMS[system].streams[0].primary_key])


def expected_rows(system: str, records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The (record_key, content_hash) rows ``records`` must leave in the raw table."""
    return {(key_of(system, r), reference_hash(as_delivered(r, system))) for r in records}


def table(system: str) -> str:
    return SYSTEMS[system].raw_table(SYSTEMS[system].stream_names[0])


def raw_rows(db_url: str, table_name: str) -> set[tuple[str, str]]:
    """The (record_key, content_hash) pairs of a raw table."""
    with psycopg.connect(db_url) as conn:
        return set(conn.execute(f"select record_key, content_hash from {table_name}").fetchall())


def latest_rows(db_url: str, system: str) -> set[tuple[str, str]]:
    """The newest version of each record of ``system``'s raw table (by cursor value)."""
    with psycopg.connect(db_url) as conn:
        return set(
            conn.execute(
                f"select distinct on (record_key) record_key, content_hash from {table(system)}"
                " order by record_key, cursor_value desc"
            ).fetchall()
        )


def quarantined(db_url: str, system: str) -> list[tuple[Any, ...]]:
    """(record_key, content_hash, reason, batch_id) of ``system``'s quarantined records."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "select record_key, content_hash, reason, batch_id from orderhub_meta.quarantine"
            " where system = %s order by record_key",
            (system,),
        ).fetchall()


def stored_state(db_url: str, system: str) -> dict[str, Any]:
    """``system``'s stored connector state (empty before the schema exists)."""
    with psycopg.connect(db_url) as conn:
        exists = conn.execute("select to_regclass('orderhub_meta.connector_state')").fetchone()
        if not exists or exists[0] is None:
            return {}
        return read_state(conn, system)


def batches(db_url: str, system: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "select status, records_read, records_new, cursor_from, cursor_to, merkle_root"
            " from orderhub_meta.extraction_batches where system = %s order by started_at",
            (system,),
        ).fetchall()


def write_airbyte_raw(
    db_url: str, system: str, records: Iterable[Mapping[str, Any]], extracted_at: datetime
) -> None:
    """Write ``records`` as Airbyte's PostgreSQL destination does after a sync, configured as
    ``orderhub connectors deploy`` configures it (raw tables only, raw schema
    ``airbyte_internal``), into the namespace the deploy gives the connection."""
    configuration = Warehouse.from_url(db_url).destination().model_dump(by_alias=True)
    stream = SYSTEMS[system].streams[0]
    emitted = [stream.as_read(record) for record in records]  # as the connector emits them
    write_destination(
        db_url, configuration, destination_namespace(system), stream.name, emitted, extracted_at
    )


def every_tracker(system: str) -> dict[str, Any]:
    """Options under which ``system``'s sync lists all of a scenario's records: the TMS's
    ``creation_window`` widened over the scenario's 120 days (a sync otherwise lists only the
    trackers created within 7 days before its start position; test_connector_sync.py shows
    that limit). For the tests about something else (lookbacks, offsets) that move old
    trackers; no option for the other systems."""
    return {"options": {"creation_window": "P400D"}} if system == "tms" else {}


def sync(db_url: str, sandbox: Sandbox, system: str, **options: Any) -> BatchResult:
    """``sync_system`` of ``system`` on ``sandbox`` (``PAGE_SIZE`` unless told), one result."""
    server, credentials = sandbox
    options.setdefault("page_size", PAGE_SIZE[system])
    config = sandbox_config(server, credentials, system, **options)
    result, *_ = sync_system(system, config, db_url, timeout=TIMEOUT)  # the first stream's
    return result


def truth(scenario: Scenario, sandbox: Sandbox, system: str) -> set[tuple[str, str]]:
    """The rows the final source holds: the scenario with the fault layer's changes."""
    changed = sandbox[0].faults.changed.get(system, {})
    key = SYSTEMS[system].streams[0].primary_key
    records = [changed.get(r[key], r) for r in scenario.records(system)]
    return expected_rows(system, records)


def assert_nothing_lost_so_far(
    db_url: str, scenario: Scenario, sandbox: Sandbox, system: str
) -> None:
    """Every key is stored (at some version the source served), nothing quarantined."""
    final = truth(scenario, sandbox, system)
    rows = raw_rows(db_url, table(system))
    assert {key for key, _ in rows} == {key for key, _ in final}
    assert quarantined(db_url, system) == []


def assert_exactly_the_source(
    db_url: str, scenario: Scenario, sandbox: Sandbox, system: str
) -> None:
    """The raw table holds each record's final version, plus at most versions it replaced."""
    final = truth(scenario, sandbox, system)
    originals = expected_rows(system, scenario.records(system))
    rows = raw_rows(db_url, table(system))
    assert latest_rows(db_url, system) == final
    assert final <= rows <= final | originals
    assert quarantined(db_url, system) == []
