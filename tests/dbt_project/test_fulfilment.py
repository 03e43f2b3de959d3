"""The fulfilment run on a built world: the generated scenario through dbt, the WMS's stock
and warehouses in their raw tables (as the connector lands them), a forecast; then
``run_fulfilment`` against a live sandbox - twice.

What a user sees: every open line allocated or on the manual-review list, each allocation
with a reason; replenishment suggestions from the forecast; CO2e per order in
``api.order_emissions``; the write-backs created in the WMS and the TMS exactly once, each a
provenance leaf, however often the run is repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from dbt_builds import Build, build, database, load
from dbt_worlds import AS_OF, generated_deliveries
from psycopg.types.json import Jsonb

from fulfilment.run import run_fulfilment
from ledger.canonical import canonical_hash
from ledger.keys import Signer
from ledger.log import ProvenanceLog
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orderhub.provenance import PROVENANCE_KINDS, WRITEBACK_EVENT
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.stock import StockBook
from sandbox.store import SandboxStore

pytestmark = pytest.mark.timeout(1200)
NOW = AS_OF + timedelta(hours=1)
ORIGIN = "orderhub.test/fulfilment"


def land_stock(url: str, scenario: Scenario) -> None:
    """The WMS's quants and warehouses in raw_wms, as the connector stores them."""
    book = StockBook(SandboxStore.from_scenario(scenario))
    with psycopg.connect(url) as conn:
        for table, records in (("stock_quants", book.quants()), ("warehouses", book.warehouses())):
            for record in records:
                conn.execute(
                    f"insert into raw_wms.{table} values (%s, %s, %s, %s, %s, %s)",
                    (str(record["id"]), canonical_hash(record), Jsonb(record),
                     record["write_date"], f"stock-{table}", NOW),
                )  # fmt: skip


def forecast(url: str) -> None:
    """A flat forecast for the next two weeks: 3 units a day of every SKU at every store."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into ml.demand_forecasts (sku, store_id, region, forecast_date,"
            " units_forecast, model_name, model_version, run_id, created_at, units_lower_80,"
            " units_upper_80, units_lower_95, units_upper_95)"
            " select s.sku, l.node_code, 'X', d::date, 3, 'test', '1', 'r', now(), 1, 5, 0, 6"
            " from seeds.product_catalog s, seeds.locations l,"
            " generate_series(%s::date, %s::date, '1 day') d where l.node_type = 'store'",
            (NOW.date(), NOW.date() + timedelta(days=13)),
        )


@pytest.fixture(scope="module")
def world(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Build]]:
    scenario = Scenario(seed=11, orders=80, as_of=AS_OF)
    with database(pg_server) as url:
        load(url, [batch for delivery in generated_deliveries(scenario) for batch in delivery])
        built = build(url, Path(tmp_path_factory.mktemp("dbt-fulfil")), *FLOW_BUILD_EXCLUDES)
        land_stock(url, scenario)
        forecast(url)
        yield url, built


def test_a_run_decides_explains_and_writes_back_once(world: tuple[str, Build]) -> None:
    url, built = world
    assert built.status_of("api_order_emissions") == "success"
    scenario = Scenario(seed=11, orders=80, as_of=AS_OF)
    credentials = SandboxCredentials.generate()
    with (
        SandboxServer(scenario, credentials) as server,
        ProvenanceLog(url, ORIGIN, Signer.generate(ORIGIN), kinds=PROVENANCE_KINDS) as log,
    ):
        configs = {
            "wms": {"base_url": server.base_url("wms"), **credentials.for_system("wms")},
            "tms": {"base_url": server.base_url("tms"), "api_key": credentials.tms_api_key},
        }
        first = run_fulfilment(url, configs, log, now=NOW)
        second = run_fulfilment(url, configs, log, now=NOW)
        with psycopg.connect(url) as conn:
            open_lines = conn.execute(
                "select count(*) from marts.fct_order_lines l join marts.fct_order_current_status o"
                " using (order_id) where o.canonical_status in ('placed', 'payment_due', 'on_hold')"
                " and l.quantity > 0 and not l.is_cancelled"
            ).fetchone()[0]
            decided = conn.execute(
                "select count(distinct (order_id, line_id)) from (select order_id, line_id from"
                " fulfilment.allocations union select order_id, line_id from"
                " fulfilment.manual_review where kind <> 'late_against_promise') x"
            ).fetchone()[0]
            reasons = conn.execute(
                "select count(*) from fulfilment.allocations where reason = ''"
            ).fetchone()[0]
            emissions = conn.execute(
                "select count(*), min(wtw_kg_co2e) from api.order_emissions"
            ).fetchone()
            leaves = conn.execute(
                "select count(*) from ledger.leaves where convert_from(body, 'UTF8') like %s",
                (f"%{WRITEBACK_EVENT}%",),
            ).fetchone()[0]
            writebacks = conn.execute(
                "select count(*) from fulfilment.writebacks where leaf_index is not null"
            ).fetchone()[0]
        created = [o for o in first.writebacks if o.result == "created"]
        assert first.allocation.status == "Optimal" and open_lines > 0
        assert decided == open_lines and reasons == 0
        assert any(s.suggested_quantity > 0 for s in first.suggestions)
        assert emissions[0] > 0 and emissions[1] > 0
        assert created and {o.target for o in created} == {"wms_replenishment", "tms_capacity"}
        # the second run sends nothing new: the systems hold each write-back once
        assert not [o for o in second.writebacks if o.result == "created"]
        assert len(_listed(configs)) == sum(o.target == "wms_replenishment" for o in created)
        assert leaves == writebacks == len(created)


def _listed(configs: dict) -> list[dict]:
    """The replenishment pickings the WMS holds."""
    wms = configs["wms"]
    response = httpx.get(
        wms["base_url"] + "/api/v1/stock.picking/replenishment",
        params={"limit": "500"},
        headers={"Authorization": f"Bearer {wms['api_key']}"},  # the Odoo user's API key
    )
    return list(response.json()["data"])
