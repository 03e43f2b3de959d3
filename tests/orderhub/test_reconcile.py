"""Key reconciliation against the real sandbox: an SAP deletion whose push was missed.

The sandbox ERP and TMS (pushes off) are synced into a fresh warehouse; two sales orders are
deleted with ``DELETE A_SalesOrder('<key>')`` and a tracker with ``DELETE
/v2/trackers/<id>``, so nothing but the key listing can tell. ``orderhub
connectors reconcile`` stores one flagged version of each (through the loader, one
extraction batch logged in the ledger), a second run stores nothing, the daily Dagster job
``orderhub_key_reconciliation`` finds a third, a listing that cannot
be trusted stores nothing, and after the dbt build PostgREST's ``/orders`` and
``/order_timeline`` show the deletion as a flagged event (``SalesOrder.Deleted``
``missing_at_source``, status ``problem``; the tracker's ``tracker.deleted``), and the audit's
verifier derives the same events from the stored records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from api_world import ApiWorld, Built, served
from dbt_builds import build, database
from test_audit_derivation import differences

from connectors.config import source_config
from connectors.errors import ConnectorError
from connectors.reconcile import RECONCILED_BY, reconcile
from connectors.schema import ensure_schema
from connectors.sync import sync_system
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orchestration.reconcile_job import key_reconciliation_job
from orchestration.resources import LedgerResource, SourcesResource, WarehouseResource
from orderhub.cli import main
from orderhub.settings import get_settings
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

PATH = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
SCENARIO = Scenario(seed=4, orders=30)


def _raw(url: str, table: str = "raw_erp.sales_orders") -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"select record_key, data ->> %s from {table} order by 1, 2", (RECONCILED_BY,)
        ).fetchall()


@pytest.fixture(scope="module")
def world(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, SandboxServer, SandboxCredentials, dict[str, Any]]]:
    credentials = SandboxCredentials.generate()
    with database(pg_server) as url, SandboxServer(SCENARIO, credentials) as sandbox:
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
            conn.commit()
        config = source_config("erp", sandbox.base_url("erp"), credentials.for_system("erp"))
        sync_system("erp", config, url)
        tms = source_config("tms", sandbox.base_url("tms"), credentials.for_system("tms"))
        sync_system("tms", tms, url)
        yield url, sandbox, credentials, config


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """The process-wide settings are read again after the test (its environment is undone)."""
    yield
    get_settings.cache_clear()


def _delete(sandbox: SandboxServer, credentials: SandboxCredentials, key: str) -> None:
    response = httpx.delete(
        f"{sandbox.base_url('erp')}{PATH}('{key}')", headers={"APIKey": credentials.erp_api_key}
    )
    assert response.status_code == 204


def test_a_missed_deletion_is_found_stored_once_and_served_flagged(
    world: tuple[str, SandboxServer, SandboxCredentials, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, sandbox, credentials, config = world
    # two open orders without a parcel (neither rejected nor completed: a deletion after a
    # terminal step would not decide the status; nor tracked: a shipment's steps decide an
    # order that has one, the order's own only when terminal)
    parcelled = {t["reference"] for t in SCENARIO.records("tms")}
    orders = [o["SalesOrder"] for o in SCENARIO.erp_sales_orders()
              if o["OverallSDProcessStatus"] != "C"
              and o["OverallSDDocumentRejectionSts"] != "C"
              and o["SalesOrder"] not in parcelled]  # fmt: skip
    gone = sorted(orders[:2])
    assert len(gone) == 2
    for key in gone:
        _delete(sandbox, credentials, key)
    tracker = SCENARIO.records("tms")[0]
    deleted = httpx.delete(
        f"{sandbox.base_url('tms')}/v2/trackers/{tracker['id']}",
        auth=(credentials.tms_api_key, ""),
    )
    assert deleted.status_code == 200
    before, trackers = _raw(url), _raw(url, "raw_tms.trackers")

    # a listing that cannot be trusted stores nothing: a wrong key, a too large share gone
    with pytest.raises(ConnectorError, match="key reconciliation failed"):
        reconcile("erp", {**config, "api_key": "wrong"}, url)
    with pytest.raises(ConnectorError, match="not trusted"):
        reconcile("erp", config, url, max_missing_share=0.01)
    assert _raw(url) == before

    # the command the user runs: found, stored through the loader, logged in the ledger
    monkeypatch.setenv("ORDERHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", url)
    monkeypatch.setenv("ORDERHUB_SOURCES__ERP__BASE_URL", sandbox.base_url("erp"))
    monkeypatch.setenv("ORDERHUB_SECRET_ERP_API_KEY", credentials.erp_api_key)
    monkeypatch.setenv("ORDERHUB_SOURCES__TMS__BASE_URL", sandbox.base_url("tms"))
    monkeypatch.setenv("ORDERHUB_SECRET_TMS_API_KEY", credentials.tms_api_key)
    get_settings.cache_clear()  # the process-wide settings, read from this environment
    assert main(["connectors", "reconcile"]) == 0
    after = _raw(url)
    flagged = sorted(key for key, flag in after if flag is not None)
    assert flagged == gone and len(after) == len(before) + 2
    tracked = _raw(url, "raw_tms.trackers")
    assert [k for k, flag in tracked if flag is not None] == [tracker["id"]]
    assert len(tracked) == len(trackers) + 1
    with psycopg.connect(url) as conn:
        logged = conn.execute("select convert_from(body, 'UTF8') from ledger.leaves").fetchall()
    assert any(RECONCILED_BY not in b and '"extraction_batch"' in b for (b,) in logged)

    again = reconcile("erp", config, url)  # idempotent: nothing new
    assert again.missing == () and again.batch is None and _raw(url) == after
    assert main(["connectors", "reconcile", "--systems", "tms"]) == 0
    assert _raw(url, "raw_tms.trackers") == tracked

    # the daily Dagster job does the same
    third = next(
        o["SalesOrder"] for o in SCENARIO.erp_sales_orders() if o["SalesOrder"] not in gone
    )
    _delete(sandbox, credentials, third)
    get_settings.cache_clear()
    try:
        ran = key_reconciliation_job.execute_in_process(
            resources={
                "warehouse": WarehouseResource(),
                "sources": SourcesResource(),
                "ledger": LedgerResource(),
            }
        )
    finally:
        get_settings.cache_clear()
    assert ran.success
    assert sorted(k for k, flag in _raw(url) if flag is not None) == sorted([*gone, third])

    built = build(url, tmp_path / "dbt", *FLOW_BUILD_EXCLUDES)
    assert built.success, built.not_passing()
    assert differences(url)[1] == []  # the audit's verifier derives the same events
    with served(Built(url, tmp_path / "dbt" / "target" / "manifest.json"), tmp_path / "api") as api:
        for key in gone:
            _served_flagged(api, key)
        steps = api.rows("order_timeline", api.token("ops"), order_id=f"eq.{tracker['reference']}")
        assert ("tracker.deleted", "missing_at_source", "problem") in [
            (s["source_field"], s["source_code"], s["canonical_status"]) for s in steps
        ]


def _served_flagged(api: ApiWorld, key: str) -> None:
    token = api.token("ops")
    (order,) = api.rows("orders", token, order_id=f"eq.{key}")
    steps = api.rows("order_timeline", token, order_id=f"eq.{key}")
    assert order["canonical_status"] == "problem", (order, steps)
    deletion = [s for s in steps if s.get("source_code") == "missing_at_source"]
    assert deletion, steps


@pytest.mark.parametrize(
    ("pages", "problem"),
    [
        ([{"results": [{"SalesOrder": "1"}, {"SalesOrder": "2"}], "__count": "3"}], "__count"),
        (
            [
                {"results": [{"SalesOrder": "1"}], "__count": "2", "__next": "http://erp/next"},
                {"results": [{"SalesOrder": "2"}], "__count": "3"},
            ],
            "count changed",
        ),
        ([{"results": [{"SalesOrder": "1"}, {"SalesOrder": "1"}], "__count": "2"}], "distinct"),
    ],
)
def test_a_listing_cut_short_or_shifting_is_refused(pages: list[Any], problem: str) -> None:
    from types import SimpleNamespace

    from connectors.reconcile import _odata_keys

    answers = iter(pages)
    client = httpx.Client(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json={"d": next(answers)}))
    )
    with pytest.raises(ValueError, match=problem):
        _odata_keys(SimpleNamespace(client=client), "http://erp/A_SalesOrder", "SalesOrder")  # type: ignore[arg-type]
