"""The dbt project, built for real: raw tables per docs/sources.md, hand-written records
in the four systems' shapes, `dbt build` through dbtRunner, then the marts and api
views checked against what the records imply.

Builds, each once per module (about 7 s each):

- ``main``: nine orders covering the happy path, arrival out of event-time order, an
  ERP cancellation at a tie, a terminal conflict, a regression after delivery, a
  delivery abroad, a web order shipped unpaid and an order stuck on hold. A full build;
  it must pass, unit tests included.
- ``incremental``: the main records in two deliveries, built after each (incremental
  runs), then once more with nothing new: the marts equal ``main``'s, row for row, and
  the runs touch only what changed.
- ``unknown``: a copy of the incremental database plus one WMS state the crosswalk
  lacks, built incrementally: the build passes, the test assert_no_unmapped_status_codes
  warns naming system, field and code, and the code is kept, not guessed.
- ``remapped``: a copy of ``unknown`` built with a project whose crosswalk maps that
  code: history is re-derived under the new version, the old version stays in
  dim_status_crosswalk_versions, and a --full-refresh afterwards changes nothing.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dbt.cli.main import dbtRunner
from psycopg.types.json import Jsonb

import ledger.store as ledger_store
import ml.store as ml_store
from ledger.canonical import canonical_hash
from orderhub.crosswalk import crosswalk_version
from orderhub.dbt_env import dbt_env
from quality.unmapped import unmapped_status_codes

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- source records


def erp_order(
    order_id: str,
    *,
    changed: float,
    process: str,
    delivery: str,
    rejection: str,
    created: float = 0,
    store: str = "S01",
    region: str = "NORTH",
    country: str = "DE",
    channel: str = "10",
    items: tuple[tuple[str, str], ...] = (("SKU-001", "1"),),
    financial: str | None = None,
) -> dict[str, Any]:
    """An A_SalesOrder record with to_Item expanded (docs/sources.md, erp); ``financial``
    is the web shop's payment status in YY1_ShopFinancialStatus_SDH (absent when None)."""
    lines = [
        {
            "SalesOrder": order_id,
            "SalesOrderItem": str(10 * (n + 1)),
            "Material": sku,
            "RequestedQuantity": quantity,
            "NetAmount": f"{10 * float(quantity):.2f}",
        }
        for n, (sku, quantity) in enumerate(items)
    ]
    record = {
        "SalesOrder": order_id,
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "DistributionChannel": channel,
        "SoldToParty": f"C{order_id[-5:]}",
        "SalesOffice": store,
        "SalesDistrict": region,
        "ShipToCountry": country,
        "ShipToRegion": "BE" if country == "DE" else "",
        "CreationDate": iso(at(created)),
        "LastChangeDateTime": iso(at(changed)),
        "TotalNetAmount": f"{sum(float(line['NetAmount']) for line in lines):.2f}",
        "TransactionCurrency": "EUR",
        "OverallSDProcessStatus": process,
        "OverallTotalDeliveryStatus": delivery,
        "OverallSDDocumentRejectionSts": rejection,
        "to_Item": {"results": lines},
    }
    if financial is not None:
        record["YY1_ShopFinancialStatus_SDH"] = financial
    return record


def crm_fulfillment_order(
    number: int, order_id: str, status: str, *, modified: float, location: str = "WH1"
) -> dict[str, Any]:
    """A Salesforce FulfillmentOrder record (docs/sources.md, crm)."""
    record_id = f"0a3{number:015d}"
    return {
        "attributes": {
            "type": "FulfillmentOrder",
            "url": f"/services/data/v60.0/sobjects/FulfillmentOrder/{record_id}",
        },
        "Id": record_id,
        "FulfillmentOrderNumber": f"FO-{number:07d}",
        "Status": status,
        "OrderSummary": {"attributes": {"type": "OrderSummary"}, "OrderNumber": order_id},
        "FulfilledFromLocation": {"attributes": {"type": "Location"}, "Name": location},
        "DeliveryMethod": "Standard",
        "FulfilledToCountryCode": "DE",
        "CreatedDate": iso(at(modified - 0.5)),
        "LastModifiedDate": iso(at(modified)),
    }


def wms_picking(
    picking_id: int,
    order_id: str,
    type_code: str,
    state: str,
    *,
    written: float,
    warehouse: str = "WH1",
) -> dict[str, Any]:
    """An Odoo stock.picking record (docs/sources.md, wms)."""
    destination = "Partners/Customers" if type_code == "OUT" else f"{warehouse}/Output"
    return {
        "id": picking_id,
        "name": f"{warehouse}/{type_code}/{picking_id:05d}",
        "origin": order_id,
        "picking_type_code": type_code,
        "state": state,
        "location_id": [1, f"{warehouse}/Stock"],
        "location_dest_id": [2, destination],
        "warehouse": warehouse,
        "scheduled_date": iso(at(written - 1)),
        "date_done": iso(at(written)) if state == "done" else False,
        "create_date": iso(at(written - 1)),
        "write_date": iso(at(written)),
        "move_ids": [{"product": "SKU-001", "quantity": 1.0}],
    }


def tms_tracker(
    number: int, order_id: str, details: list[tuple[str, float, str, str]]
) -> dict[str, Any]:
    """An EasyPost Tracker with its tracking details so far: (status, hours, city, country)."""
    tracking_details = [
        {
            "object": "TrackingDetail",
            "message": status.replace("_", " "),
            "status": status,
            "status_detail": "arrived_at_destination" if status == "delivered" else "status_update",
            "datetime": iso(at(hours)),
            "source": "UPS",
            "tracking_location": {
                "object": "TrackingLocation",
                "city": city,
                "state": None,
                "country": country,
                "zip": None,
            },
        }
        for status, hours, city, country in details
    ]
    last_status, last_hours = details[-1][0], details[-1][1]
    return {
        "id": f"trk_{number:032x}",
        "object": "Tracker",
        "mode": "test",
        "tracking_code": f"1Z{number:016d}",
        "carrier": "UPS",
        "reference": order_id,
        "status": last_status,
        "status_detail": tracking_details[-1]["status_detail"],
        "created_at": iso(at(details[0][1])),
        "updated_at": iso(at(last_hours)),
        "est_delivery_date": None,
        "signed_by": None,
        "tracking_details": tracking_details,
    }


def trk(number: int) -> str:
    return f"trk_{number:032x}"


# ---------------------------------------------------------------- raw tables

STREAMS = {
    "erp": ("raw_erp.sales_orders", "SalesOrder", "LastChangeDateTime"),
    "crm": ("raw_crm.fulfillment_orders", "Id", "LastModifiedDate"),
    "wms": ("raw_wms.pickings", "id", "write_date"),
    "tms": ("raw_tms.trackers", "id", "updated_at"),
    "file": (
        "raw_file.order_lines",
        "line_key",
        "ordered_at",
    ),  # empty here (test_file_source_models)
}


@dataclass
class Batch:
    """Records one extraction batch of one system stored, as the loader does; the batch
    id is derived from system and time, so two databases loaded alike are equal."""

    system: str
    extracted_at: datetime
    records: list[dict[str, Any]]
    batch_id: str = ""

    def __post_init__(self) -> None:
        if not self.batch_id:
            name = f"{self.system}/{self.extracted_at.isoformat()}"
            self.batch_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def create_raw_tables(conn: psycopg.Connection) -> None:
    for table, _, _ in STREAMS.values():
        schema = table.split(".")[0]
        conn.execute(f"create schema if not exists {schema}")
        conn.execute(
            f"""
            create table {table} (
                record_key text not null,
                content_hash text not null,
                data jsonb not null,
                cursor_value text,
                batch_id text not null,
                extracted_at timestamptz not null,
                primary key (record_key, content_hash)
            )
            """
        )


def store_batch(conn: psycopg.Connection, batch: Batch) -> None:
    table, key, cursor = STREAMS[batch.system]
    for record in batch.records:
        conn.execute(
            f"insert into {table} values (%s, %s, %s, %s, %s, %s) on conflict do nothing",
            (
                str(record[key]),
                canonical_hash(record),
                Jsonb(record),
                str(record[cursor]),
                batch.batch_id,
                batch.extracted_at,
            ),
        )


def create_ml_and_ledger_tables(conn: psycopg.Connection) -> None:
    """The tables ml/ and ledger/ own, which the dbt sources read."""
    ml_store.ensure_schema(conn)
    ledger_store.ensure_schema(conn)


def main_batches() -> list[Batch]:
    """Nine orders; what each implies is in EXPECTED_STATUS and the tests."""
    o1, o2, o3, o4, o5, o6, o7, o8, o9 = (f"100000{n}" for n in range(1, 10))
    two_items = (("SKU-001", "2"), ("SKU-002", "1"))
    return [
        Batch(
            "erp",
            at(1.5),
            [
                erp_order(o1, changed=0, process="A", delivery="", rejection="A", items=two_items),
                erp_order(
                    o2,
                    changed=1,
                    created=1,
                    process="A",
                    delivery="",
                    rejection="A",
                    store="S02",
                    region="SOUTH",
                    channel="20",
                    items=(("SKU-003", "5"),),
                ),
                erp_order(o3, changed=1, created=1, process="A", delivery="", rejection="A"),
                erp_order(
                    o4,
                    changed=0,
                    process="A",
                    delivery="",
                    rejection="A",
                    store="S03",
                    region="EAST",
                    country="AT",
                    items=(("SKU-002", "1"),),
                ),
                erp_order(
                    o5,
                    changed=0,
                    process="A",
                    delivery="",
                    rejection="A",
                    store="S04",
                    region="WEST",
                    items=(("SKU-004", "3"),),
                ),
                erp_order(
                    o6,
                    changed=1,
                    created=1,
                    process="A",
                    delivery="",
                    rejection="A",
                    store="S05",
                    items=(("SKU-005", "1"),),
                ),
                erp_order(o7, changed=1, created=1, process="A", delivery="", rejection="A"),
                # a web order whose goods issue is posted while the payment is pending
                erp_order(
                    o8, changed=2, process="C", delivery="C", rejection="A", financial="PENDING"
                ),
                # created 400 hours before the others, waiting for stock ever since
                erp_order(
                    o9,
                    changed=-399,
                    created=-400,
                    process="B",
                    delivery="A",
                    rejection="A",
                    store="S06",
                    region="WEST",
                    country="FR",
                    items=(("SKU-006", "2"),),
                    financial="PAID",
                ),
            ],
        ),
        Batch(
            "erp",
            at(6),
            [
                erp_order(o1, changed=1, process="B", delivery="A", rejection="A", items=two_items),
                erp_order(o1, changed=5, process="C", delivery="C", rejection="A", items=two_items),
                # the ERP cancels 1000003 at 3h, the moment the CRM allocates it
                erp_order(o3, changed=3, created=1, process="A", delivery="", rejection="C"),
                erp_order(
                    o4,
                    changed=5,
                    process="C",
                    delivery="C",
                    rejection="A",
                    store="S03",
                    region="EAST",
                    country="AT",
                    items=(("SKU-002", "1"),),
                ),
            ],
        ),
        Batch(
            "erp",
            at(31),
            [
                # cancelled in the ERP after the carrier delivered it: a terminal conflict
                erp_order(
                    o4,
                    changed=30,
                    process="C",
                    delivery="C",
                    rejection="C",
                    store="S03",
                    region="EAST",
                    country="AT",
                    items=(("SKU-002", "1"),),
                ),
            ],
        ),
        Batch(
            "crm",
            at(6),
            [
                crm_fulfillment_order(1, o1, "Draft", modified=1 / 6),
                crm_fulfillment_order(1, o1, "Allocated", modified=1 / 3),
                crm_fulfillment_order(1, o1, "Fulfilled", modified=5),
                crm_fulfillment_order(3, o3, "Draft", modified=1 + 1 / 6),
                crm_fulfillment_order(3, o3, "Allocated", modified=3),
            ],
        ),
        Batch(
            "wms",
            at(4.5),
            [
                wms_picking(1, o1, "PICK", "assigned", written=1),
                wms_picking(1, o1, "PICK", "done", written=2),
                wms_picking(2, o1, "PACK", "done", written=3),
                wms_picking(3, o1, "OUT", "done", written=4),
                # 1000002's pick became ready at 4h ...
                wms_picking(4, o2, "PICK", "assigned", written=4),
                wms_picking(5, o4, "OUT", "done", written=4),
                wms_picking(8, o8, "OUT", "done", written=3),
                wms_picking(9, o9, "PICK", "confirmed", written=-399, warehouse="WH2"),
            ],
        ),
        Batch(
            "wms",
            at(23),
            [
                # ... and its older state (waiting for stock at 3h) arrives later
                wms_picking(4, o2, "PICK", "confirmed", written=3),
                # the WMS closes 1000005's delivery order after the carrier delivered it
                wms_picking(6, o5, "OUT", "done", written=22),
            ],
        ),
        Batch(
            "tms",
            at(7),
            [
                tms_tracker(
                    1,
                    o1,
                    [
                        ("pre_transit", 3.5, "Berlin", "DE"),
                        ("in_transit", 6, "Hamburg", "DE"),
                    ],
                ),
            ],
        ),
        Batch(
            "tms",
            at(32),
            [
                tms_tracker(
                    1,
                    o1,
                    [
                        ("pre_transit", 3.5, "Berlin", "DE"),
                        ("in_transit", 6, "Hamburg", "DE"),
                        ("out_for_delivery", 24, "Munich", "DE"),
                        ("delivered", 27, "Munich", "DE"),
                    ],
                ),
                tms_tracker(
                    4,
                    o4,
                    [
                        ("in_transit", 6, "Vienna", "AT"),
                        ("delivered", 26, "Graz", "AT"),
                    ],
                ),
                tms_tracker(
                    5,
                    o5,
                    [
                        ("in_transit", 10, "Dortmund", "DE"),
                        ("delivered", 20, "Cologne", "DE"),
                    ],
                ),
                tms_tracker(
                    6,
                    o6,
                    [
                        ("in_transit", 10, "Saarbruecken", "DE"),
                        ("delivered", 30, "Strasbourg", "FR"),
                    ],
                ),
            ],
        ),
    ]


def unknown_batches() -> list[Batch]:
    """The main scenario plus a WMS state the crosswalk lacks (Odoo <= 12's partial state)."""
    return [
        *main_batches(),
        Batch("wms", at(40), [wms_picking(7, "1000007", "PICK", "partially_available", written=5)]),
    ]


#: order → (canonical status, deciding system, deciding code, updated_at in hours after T0)
EXPECTED_STATUS = {
    "1000001": ("delivered", "tms", "delivered", 27),
    "1000002": ("processing", "wms", "assigned", 4),
    "1000003": ("cancelled", "erp", "C", 3),
    "1000004": ("cancelled", "erp", "C", 30),
    # the WMS closing the delivery order at 22h, after the delivery at 20h, is a regression
    "1000005": ("delivered", "tms", "delivered", 20),
    "1000006": ("delivered", "tms", "delivered", 30),
    "1000007": ("placed", "erp", None, 1),
    "1000008": ("in_transit", "wms", "done", 3),
    "1000009": ("on_hold", "wms", "confirmed", -399),
}
#: the tables the canonical build writes, compared between full and incremental builds
MART_TABLES = (
    "fct_order_status_events",
    "fct_order_current_status",
    "fct_order_timeline",
    "fct_order_exceptions",
    "fct_order_tags",
    "fct_unmapped_status_codes",
    "fct_daily_demand",
    "dim_status_crosswalk_versions",
)
#: columns that say when a build ran, not what it derived
BUILD_STAMPS = {"built_at", "first_built_at"}
#: the code of unknown_batches() and a crosswalk row that maps it
UNKNOWN_ROW = (
    "wms,PICK.state,partially_available,processing,picking,reserved,31,false,,"
    "Odoo 11 and older: pick partially reserved\n"
)


# ---------------------------------------------------------------- building


@dataclass
class Build:
    """One scenario's database after `dbt build`."""

    url: str
    success: bool
    results: dict[str, Any]  # node unique_id → RunResult
    log_lines: list[str]
    seconds: float

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()

    def status_of(self, name: str) -> str:
        matches = [r for uid, r in self.results.items() if uid.split(".")[-1] == name]
        assert len(matches) == 1, f"{name}: {sorted(self.results)}"
        return str(matches[0].status)

    def rows_written(self, model: str) -> int:
        """Rows the model's run wrote (inserted by an incremental run, created by a full)."""
        return int(self.results[f"model.orderhub.{model}"].adapter_response["rows_affected"])

    def not_passing(self) -> dict[str, str]:
        return {
            uid: str(r.status)
            for uid, r in self.results.items()
            if str(r.status) not in ("success", "pass")
        }

    def tables(self, leave_out: tuple[str, ...] = ()) -> dict[str, tuple[list[str], list[str]]]:
        """Every mart table's columns and rows (sorted, build stamps and ``leave_out`` left
        out)."""
        found = {}
        with psycopg.connect(self.url) as conn:
            for table in MART_TABLES:
                columns = [
                    name
                    for (name,) in conn.execute(
                        "select column_name from information_schema.columns"
                        " where table_schema = 'marts' and table_name = %s order by column_name",
                        (table,),
                    )
                    if name not in BUILD_STAMPS and name not in leave_out
                ]
                rows = conn.execute(f"select {', '.join(columns)} from marts.{table}").fetchall()
                found[table] = (columns, sorted(map(repr, rows)))
        return found


def run_dbt(url: str, work: Path, *args: str, project: Path = PROJECT) -> tuple[Any, list[str]]:
    """Invoke dbt in this process with the warehouse URL's environment; target/ and logs/
    go under ``work``, never into the repository."""
    log_lines: list[str] = []

    def collect(event: Any) -> None:
        if event.info.name == "JinjaLogInfo":
            log_lines.append(event.data.msg)

    with pytest.MonkeyPatch.context() as env:
        for key, value in dbt_env(url).items():
            env.setenv(key, value)
        result = dbtRunner(callbacks=[collect]).invoke(
            [
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
                "--no-use-colors",
            ]
        )
    return result, log_lines


def build(url: str, work: Path, *args: str, project: Path = PROJECT) -> Build:
    """`dbt build` (with ``args``) on the database at ``url``."""
    started = datetime.now(UTC)
    result, log_lines = run_dbt(url, work, "build", *args, project=project)
    seconds = (datetime.now(UTC) - started).total_seconds()
    assert result.exception is None, result.exception
    results = {r.node.unique_id: r for r in result.result.results}
    return Build(url, result.success, results, log_lines, seconds)


def load(url: str, batches: list[Batch]) -> None:
    with psycopg.connect(url) as conn:
        for batch in batches:
            store_batch(conn, batch)


@contextmanager
def database(pg_server: str, template: str | None = None) -> Iterator[str]:
    """A new database (a copy of ``template``'s when given), dropped afterwards."""
    name = f"dbt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        if template is None:
            conn.execute(f'create database "{name}"')
        else:
            source = template.rpartition("/")[2]
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (source,),
            )
            conn.execute(f'create database "{name}" template "{source}"')
    url = f"{pg_server.rpartition('/')[0]}/{name}"
    try:
        if template is None:
            with psycopg.connect(url) as conn:
                create_raw_tables(conn)
                create_ml_and_ledger_tables(conn)
        yield url
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@dataclass
class IncrementalBuilds:
    """The main records in two deliveries, built after each, then once more idle."""

    first: Build
    second: Build
    idle: Build
    tables_after_second: dict[str, tuple[list[str], list[str]]]


@pytest.fixture(scope="module")
def main_build(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    with database(pg_server) as url:
        load(url, main_batches())
        yield build(url, tmp_path_factory.mktemp("dbt-main"))


@pytest.fixture(scope="module")
def incremental(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IncrementalBuilds]:
    work = tmp_path_factory.mktemp("dbt-incremental")
    batches = main_batches()
    with database(pg_server) as url:
        load(url, [b for b in batches if b.extracted_at <= at(7)])
        first = build(url, work)
        load(url, [b for b in batches if b.extracted_at > at(7)])
        second = build(url, work)
        tables = second.tables()
        idle = build(url, work)
        yield IncrementalBuilds(first, second, idle, tables)


@pytest.fixture(scope="module")
def unknown_build(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory, incremental: IncrementalBuilds
) -> Iterator[Build]:
    """The incremental database with the main records, plus an unknown WMS state."""
    with database(pg_server, template=incremental.idle.url) as url:
        load(url, unknown_batches()[len(main_batches()) :])
        yield build(url, tmp_path_factory.mktemp("dbt-unknown"))


@dataclass
class Remapped:
    """The unknown database rebuilt with a crosswalk that maps the code, then rebuilt
    with --full-refresh."""

    build: Build
    tables: dict[str, tuple[list[str], list[str]]]
    history: list[tuple[Any, ...]]  # dim_status_crosswalk_versions before the refresh
    refreshed: Build
    versions: tuple[str, str]  # (old, new) crosswalk version


@pytest.fixture(scope="module")
def remapped(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory, unknown_build: Build
) -> Iterator[Remapped]:
    work = tmp_path_factory.mktemp("dbt-remapped")
    project = work / "dbt_project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    crosswalk = project / "seeds" / "status_crosswalk.csv"
    old = crosswalk_version(crosswalk)
    with crosswalk.open("a", encoding="utf-8") as handle:
        handle.write(UNKNOWN_ROW)
    with database(pg_server, template=unknown_build.url) as url:
        rebuilt = build(url, work, project=project)
        tables = rebuilt.tables()
        history = rebuilt.query(
            "select crosswalk_version, count(*) filter (where source_code = 'partially_available')"
            " from marts.dim_status_crosswalk_versions group by 1 order by 2"
        )
        refreshed = build(url, work, "--full-refresh", project=project)
        yield Remapped(rebuilt, tables, history, refreshed, (old, crosswalk_version(crosswalk)))


# ---------------------------------------------------------------- main scenario


def test_build_succeeds_with_unit_tests(main_build: Build) -> None:
    bad = main_build.not_passing()
    assert main_build.success, bad
    assert bad == {}
    for unit_test in (
        "test_order_timeline_ordering_ties_and_regressions",
        "test_fct_order_current_status_from_the_deciding_step",
        "test_fct_order_exceptions_every_type",
        "test_fct_order_tags_rules_compile_to_sql",
        "test_stg_erp__sales_orders_blank_delivery_status",
    ):
        assert main_build.status_of(unit_test) == "pass", unit_test
    assert main_build.status_of("assert_no_unmapped_status_codes") == "pass"
    print(f"dbt build (main scenario): {main_build.seconds:.1f} s")


def test_current_status_per_order(main_build: Build) -> None:
    rows = main_build.query(
        "select order_id, canonical_status, status_source_system, status_source_code, updated_at"
        " from marts.fct_order_current_status"
    )
    got = {order: (status, system, code, at_) for order, status, system, code, at_ in rows}
    assert set(got) == set(EXPECTED_STATUS)
    for order, (status, system, code, hours) in EXPECTED_STATUS.items():
        assert got[order][0] == status, order
        assert got[order][1] == system, order
        if code is not None:
            assert got[order][2] == code, order
        assert got[order][3] == at(hours), order
    # the api view serves the same
    api = dict(main_build.query("select order_id, canonical_status from api.orders"))
    assert api == {order: value[0] for order, value in EXPECTED_STATUS.items()}


def test_timeline_is_in_event_time_order(main_build: Build) -> None:
    steps = main_build.query(
        "select canonical_status, source_system, source_code, node"
        " from marts.fct_order_timeline where order_id = '1000001' order by step_number"
    )
    assert steps == [
        ("placed", "erp", "BLANK", "S01"),
        ("placed", "erp", "A", "S01"),
        ("placed", "erp", "A", "S01"),
        ("placed", "crm", "Draft", "WH1"),
        ("processing", "crm", "Allocated", "WH1"),
        ("processing", "erp", "A", "S01"),
        ("processing", "erp", "B", "S01"),
        ("processing", "wms", "assigned", "WH1"),
        ("processing", "wms", "done", "WH1"),
        ("processing", "wms", "done", "WH1"),
        ("processing", "tms", "pre_transit", "Berlin"),
        ("in_transit", "wms", "done", "WH1"),
        ("processing", "erp", "C", "S01"),
        ("in_transit", "erp", "C", "S01"),
        ("in_transit", "crm", "Fulfilled", "WH1"),
        ("in_transit", "tms", "in_transit", "Hamburg"),
        ("in_transit", "tms", "out_for_delivery", "Munich"),
        ("delivered", "tms", "delivered", "Munich"),
    ]
    # the late-arriving older WMS state sits where it happened, before the newer one
    assert main_build.query(
        "select canonical_status, source_code from marts.fct_order_timeline"
        " where order_id = '1000002' and source_system = 'wms' order by step_number"
    ) == [("on_hold", "confirmed"), ("processing", "assigned")]
    # one step of every order decides its current status ...
    assert (
        main_build.query(
            "select c.order_id from marts.fct_order_current_status as c"
            " left join marts.fct_order_timeline as t"
            " on t.order_id = c.order_id and t.decides_status"
            " where t.event_id is distinct from c.status_event_id"
        )
        == []
    )
    # ... the last one, except when the last one is a regression after a terminal state
    assert main_build.query(
        "select order_id, canonical_status, source_system, is_regression, decides_status"
        " from marts.fct_order_timeline where is_last_step and not decides_status"
    ) == [("1000005", "in_transit", "wms", True, False)]
    # stores and warehouses are placed by the locations seed, carrier locations as reported
    assert main_build.query(
        "select distinct node_type, node, node_city, node_country from api.order_timeline"
        " where order_id = '1000001' and source_system in ('erp', 'wms', 'tms')"
        " and node in ('S01', 'WH1', 'Munich') order by 1, 2"
    ) == [
        ("carrier_location", "Munich", "Munich", "DE"),
        ("store", "S01", "Hamburg", "DE"),
        ("warehouse", "WH1", "Kassel", "DE"),
    ]


def test_events_are_changes_and_tracking_details_are_deduplicated(main_build: Build) -> None:
    # three ERP versions of 1000001 carry rejection status A: one event
    assert main_build.query(
        "select count(*) from marts.fct_order_status_events where order_id = '1000001'"
        " and source_field = 'OverallSDDocumentRejectionSts'"
    ) == [(1,)]
    # tracker 1 was stored twice (2 then 4 details): 4 events, provenance the first version
    rows = main_build.query(
        "select source_code, source_batch_id from marts.fct_order_status_events"
        " where source_record_key = %s order by event_time",
        trk(1),
    )
    assert [code for code, _ in rows] == [
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert rows[0][1] == rows[1][1] != rows[2][1] == rows[3][1]
    assert main_build.query(
        "select count(*) = count(distinct event_id) from marts.fct_order_status_events"
    ) == [(True,)]


def test_blank_delivery_status_is_mapped(main_build: Build) -> None:
    assert main_build.query(
        "select distinct overall_total_delivery_status from staging.stg_erp__sales_orders"
        " where order_id = '1000007'"
    ) == [("BLANK",)]
    assert main_build.query(
        "select canonical_status, is_mapped from marts.fct_order_status_events"
        " where order_id = '1000007' and source_field = 'OverallTotalDeliveryStatus'"
    ) == [("placed", True)]


def test_exceptions(main_build: Build) -> None:
    assert main_build.query("select * from marts.fct_unmapped_status_codes") == []
    rows = main_build.query(
        "select e.order_id, e.exception_type, e.severity, e.systems, e.detected_since,"
        " array(select s.source_code from unnest(e.event_ids) with ordinality as u(id, n)"
        "       join marts.fct_order_status_events as s on s.event_id = u.id order by u.n)"
        " from marts.fct_order_exceptions as e order by e.order_id"
    )
    assert rows == [
        ("1000004", "terminal_conflict", "error", ["erp", "tms"], at(30), ["delivered", "C"]),
        (
            "1000005",
            "regression_after_terminal",
            "warning",
            ["tms", "wms"],
            at(22),
            ["delivered", "done"],
        ),
        ("1000006", "misroute", "error", ["tms"], at(30), ["delivered"]),
        # the goods issue (delivery status C) at 2h, while the payment was PENDING (the
        # same ERP version: equal times, in event id order)
        ("1000008", "shipped_before_payment", "error", ["erp"], at(2), ["PENDING", "C"]),
        # on hold since -399h; the on_hold SLA of web orders is 168h
        ("1000009", "stuck_beyond_sla", "error", ["wms"], at(-399 + 168), ["confirmed"]),
    ]
    details = dict(
        main_build.query("select order_id, details from api.order_exceptions order by 1")
    )
    assert details["1000006"]["ship_to_country"] == "DE"
    assert details["1000006"]["delivered_in_country"] == "FR"
    assert details["1000006"]["events"][0]["node"] == "Strasbourg"
    assert details["1000008"]["payment_state"] == "unpaid"
    stuck = details["1000009"]
    assert (stuck["canonical_status"], stuck["sla_hours"]) == ("on_hold", 168)
    # the clock is the latest event time (30h): on hold for 429 hours
    assert stuck["as_of"].startswith(at(30).strftime("%Y-%m-%dT%H:%M:%S"))
    assert stuck["hours_in_status"] == 429


def test_status_since_and_payment(main_build: Build) -> None:
    rows = main_build.query(
        "select order_id, status_since, payment_state, payment_source_code, regression_count"
        " from api.orders where order_id in ('1000001', '1000005', '1000008', '1000009')"
        " order by 1"
    )
    assert rows == [
        ("1000001", at(27), None, None, 0),
        ("1000005", at(20), None, None, 1),
        # in transit since the goods issue; the payment never decided anything
        ("1000008", at(2), "unpaid", "PENDING", 0),
        ("1000009", at(-399), "paid", "PAID", 0),
    ]


def test_order_tags_from_the_rules_seed(main_build: Build) -> None:
    tags = main_build.query("select order_id, tag, rule_ids from api.order_tags order by 1, 2")
    assert tags == [
        ("1000002", "cold_chain", ["cold_chain_products"]),
        ("1000006", "cold_chain", ["cold_chain_products"]),
        ("1000007", "modifiable", ["modifiable_not_yet_picked"]),
        ("1000009", "modifiable", ["modifiable_not_yet_picked"]),
    ]


def test_daily_demand_leaves_out_cancelled_orders(main_build: Build) -> None:
    rows = main_build.query(
        "select sku, store_id, region, demand_date::text, units, orders"
        " from marts.fct_daily_demand order by sku, store_id"
    )
    # 1000003 and 1000004 are cancelled; 1000001, 1000007 and 1000008 share S01's SKU-001
    assert [(s, st, r, d, float(u), o) for s, st, r, d, u, o in rows] == [
        ("SKU-001", "S01", "NORTH", "2026-10-01", 4.0, 3),
        ("SKU-002", "S01", "NORTH", "2026-10-01", 1.0, 1),
        ("SKU-003", "S02", "SOUTH", "2026-10-01", 5.0, 1),
        ("SKU-004", "S04", "WEST", "2026-10-01", 3.0, 1),
        ("SKU-005", "S05", "NORTH", "2026-10-01", 1.0, 1),
        ("SKU-006", "S06", "WEST", "2026-09-14", 2.0, 1),
    ]


def test_crosswalk_version_is_sha256_of_its_rows(main_build: Build) -> None:
    # orderhub.crosswalk computes it from the CSV the way int_status_crosswalk__versioned does
    expected = crosswalk_version(PROJECT / "seeds" / "status_crosswalk.csv")
    assert main_build.query(
        "select distinct crosswalk_version from marts.fct_order_status_events"
    ) == [(expected,)]
    assert main_build.query(
        "select distinct crosswalk_version from marts.dim_status_crosswalk_versions"
    ) == [(expected,)]


def test_api_views_are_granted_to_web_anon(main_build: Build) -> None:
    views = {
        "orders",
        "order_events",
        "order_timeline",
        "order_exceptions",
        "unmapped_status_codes",
        "order_tags",
        "daily_demand",
        "demand_forecasts",
        "ledger_checkpoints",
    }
    assert {
        name
        for (name,) in main_build.query(
            "select table_name from information_schema.views where table_schema = 'api'"
        )
    } == views
    with psycopg.connect(main_build.url) as conn:
        conn.execute("set role web_anon")
        for view in sorted(views):
            conn.execute(f"select * from api.{view} limit 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from marts.fct_order_current_status")


# ---------------------------------------------------------------- incremental


def test_incremental_builds_equal_a_full_build(
    main_build: Build, incremental: IncrementalBuilds
) -> None:
    for step in (incremental.first, incremental.second, incremental.idle):
        assert step.success, step.not_passing()
    full = main_build.tables()
    for table in MART_TABLES:
        assert incremental.tables_after_second[table] == full[table], table
    assert incremental.idle.tables() == full


def test_incremental_builds_touch_only_what_changed(
    main_build: Build, incremental: IncrementalBuilds
) -> None:
    second, idle = incremental.second, incremental.idle
    # the second delivery brought new versions of 7 of the 23 source records: their
    # events are re-derived, the others' are not
    changed = main_build.query(
        "select count(*) from marts.fct_order_status_events as e"
        " where (e.source_system, e.source_record_key) in (values"
        " ('erp', '1000004'), ('wms', '4'), ('wms', '6'), ('tms', %s), ('tms', %s),"
        " ('tms', %s), ('tms', %s))",
        trk(1),
        trk(4),
        trk(5),
        trk(6),
    )[0][0]
    total = main_build.query("select count(*) from marts.fct_order_status_events")[0][0]
    assert second.rows_written("fct_order_status_events") == changed < total
    # per-order marts rebuild the orders of those records: 1, 2, 4, 5 and 6
    assert second.rows_written("fct_order_current_status") == 5
    # nothing new: no event, step or status is written again; the exceptions of open
    # orders are re-checked against the clock (1000008 shipped unpaid, 1000009 stuck)
    for model in ("fct_order_status_events", "fct_order_timeline", "fct_order_current_status"):
        assert idle.rows_written(model) == 0, model
    assert idle.rows_written("fct_order_exceptions") == 2


def test_a_changed_model_rebuilds_its_table_on_the_next_incremental_build(
    pg_server: str, main_build: Build, tmp_path: Path
) -> None:
    # a model's SQL is part of its inputs: after an upgrade changes it, the next ordinary
    # build re-derives that table in full (no --full-refresh by hand); the events before
    # it stay, the per-order marts after it rebuild every order it re-derived
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    with (project / "models" / "marts" / "fct_order_timeline.sql").open("a") as handle:
        handle.write("\n-- changed by an upgrade\n")
    with database(pg_server, template=main_build.url) as url:
        upgraded = build(url, tmp_path, project=project)
        assert upgraded.success, upgraded.not_passing()
        steps = upgraded.query("select count(*) from marts.fct_order_timeline")[0][0]
        assert upgraded.rows_written("fct_order_timeline") == steps > 0
        assert upgraded.rows_written("fct_order_status_events") == 0
        orders = upgraded.query("select count(*) from marts.fct_order_current_status")[0][0]
        assert upgraded.rows_written("fct_order_current_status") == orders > 0
        exceptions = upgraded.query("select count(*) from marts.fct_order_exceptions")[0][0]
        assert upgraded.rows_written("fct_order_exceptions") == exceptions > 0
        # the same rows; the rebuilt table's fingerprint names the new SQL
        assert upgraded.tables(leave_out=("inputs_version",)) == main_build.tables(
            leave_out=("inputs_version",)
        )
        old, new = (
            b.query("select distinct inputs_version from marts.fct_order_timeline")
            for b in (main_build, upgraded)
        )
        assert len(old) == len(new) == 1 and old != new


# ---------------------------------------------------------------- unknown code


def test_unknown_code_warns_naming_it_and_the_rest_publishes(unknown_build: Build) -> None:
    assert unknown_build.success
    assert unknown_build.status_of("assert_no_unmapped_status_codes") == "warn"
    named = [line for line in unknown_build.log_lines if "unmapped status code" in line]
    assert len(named) == 1
    assert "system=wms field=PICK.state code='partially_available'" in named[0]
    assert "e.g. order 1000007" in named[0]
    # nothing failed: the marts and the api are built
    assert set(unknown_build.not_passing()) == {"test.orderhub.assert_no_unmapped_status_codes"}
    # the Dagster check names it the same way
    (code,) = unmapped_status_codes(unknown_build.url)
    assert code.line().startswith(
        "unmapped status code: system=wms field=PICK.state code='partially_available'"
        " (1 event(s) in 1 order(s), e.g. order 1000007"
    )


def test_unknown_code_is_kept_not_guessed(unknown_build: Build) -> None:
    assert unknown_build.query(
        "select source_system, source_field, source_code, event_count, example_order_id"
        " from api.unmapped_status_codes"
    ) == [("wms", "PICK.state", "partially_available", 1, "1000007")]
    assert unknown_build.query(
        "select canonical_status, is_mapped from marts.fct_order_status_events"
        " where source_code = 'partially_available'"
    ) == [(None, False)]
    # the unknown code decides nothing; it is an exception of the order
    assert unknown_build.query(
        "select canonical_status, unmapped_event_count from api.orders where order_id = '1000007'"
    ) == [("placed", 1)]
    assert unknown_build.query(
        "select exception_type, severity, systems, details ->> 'source_code'"
        " from api.order_exceptions where order_id = '1000007'"
    ) == [("unmapped_status_code", "error", ["wms"], "partially_available")]


def test_a_new_mapping_clears_the_code_and_rederives_history(
    unknown_build: Build, remapped: Remapped
) -> None:
    old, new = remapped.versions
    assert old != new
    assert remapped.build.success, remapped.build.not_passing()
    assert remapped.build.status_of("assert_no_unmapped_status_codes") == "pass"
    assert remapped.build.query("select * from api.unmapped_status_codes") == []
    assert unmapped_status_codes(remapped.build.url) == []
    # every event is re-derived under the new version, the mapped code decides
    assert remapped.build.query(
        "select distinct crosswalk_version from marts.fct_order_status_events"
    ) == [(new,)]
    assert remapped.build.query(
        "select canonical_status, status_source_code from api.orders where order_id = '1000007'"
    ) == [("processing", "partially_available")]
    assert remapped.build.query(
        "select count(*) from api.order_exceptions where order_id = '1000007'"
    ) == [(0,)]
    total = unknown_build.query("select count(*) from marts.fct_order_status_events")[0][0]
    assert remapped.build.rows_written("fct_order_status_events") == total
    # the old version's rows stay, to explain what was derived under it
    assert remapped.history == [(old, 0), (new, 1)]


def test_full_refresh_after_a_seed_change_changes_nothing(remapped: Remapped) -> None:
    assert remapped.refreshed.success, remapped.refreshed.not_passing()
    refreshed = remapped.refreshed.tables()
    for table in MART_TABLES:  # dim_status_crosswalk_versions included: full_refresh=false
        assert refreshed[table] == remapped.tables[table], table


# ---------------------------------------------------------------- docs


def test_dbt_docs_generate(main_build: Build, tmp_path: Path) -> None:
    result, _ = run_dbt(main_build.url, tmp_path, "docs", "generate")
    assert result.success, result.exception
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert (tmp_path / "target" / "index.html").exists()
    nodes = catalog["nodes"]
    for model in ("fct_order_exceptions", "fct_order_timeline", "fct_order_tags", "api_order_tags"):
        (node,) = [n for uid, n in nodes.items() if uid == f"model.orderhub.{model}"]
        assert node["columns"], model
    # every model and every column of it is documented in yml
    undocumented = [
        f"{node['name']}.{column}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for column in nodes[node["unique_id"]]["columns"]
        if not node["columns"].get(column, {}).get("description")
    ]
    assert undocumented == []
    assert all(
        node["description"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    )
