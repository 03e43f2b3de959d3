"""Key reconciliation against the real sandbox: an SAP deletion whose push was missed.

The sandbox ERP (pushes off) is synced into a fresh warehouse; two sales orders are deleted
with ``DELETE A_SalesOrder('<key>')``, so nothing but the key listing can tell. ``orderhub
connectors reconcile`` stores one flagged version of each (through the loader, one
extraction batch logged in the ledger), a second run stores nothing, a listing that cannot
be trusted stores nothing, and after the dbt build PostgREST's ``/orders`` and
``/order_timeline`` show the deletion as a flagged event (``SalesOrder.Deleted``
``missing_at_source``, status ``problem``).
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

from connectors.config import source_config
from connectors.errors import ConnectorError
from connectors.reconcile import RECONCILED_BY, reconcile
from connectors.schema import ensure_schema
from connectors.sync import sync_system
from orderhub.cli import main
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

PATH = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
SCENARIO = Scenario(seed=4, orders=30)


def _raw(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select record_key, data ->> %s from raw_erp.sales_orders order by 1, 2",
            (RECONCILED_BY,),
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
        yield url, sandbox, credentials, config


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
    # two open orders (neither rejected nor completed: a deletion after a terminal step
    # would not decide the status)
    orders = [o["SalesOrder"] for o in SCENARIO.erp_sales_orders()
              if o["OverallSDProcessStatus"] != "C"
              and o["OverallSDDocumentRejectionSts"] != "C"]  # fmt: skip
    gone = sorted(orders[:2])
    assert len(gone) == 2
    for key in gone:
        _delete(sandbox, credentials, key)
    before = _raw(url)

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
    assert main(["connectors", "reconcile"]) == 0
    after = _raw(url)
    flagged = sorted(key for key, flag in after if flag is not None)
    assert flagged == gone and len(after) == len(before) + 2
    with psycopg.connect(url) as conn:
        logged = conn.execute("select convert_from(body, 'UTF8') from ledger.leaves").fetchall()
    assert any(RECONCILED_BY not in b and '"extraction_batch"' in b for (b,) in logged)

    again = reconcile("erp", config, url)  # idempotent: nothing new
    assert again.missing == () and again.batch is None and _raw(url) == after

    built = build(url, tmp_path / "dbt", "--exclude-resource-type", "unit_test")
    assert built.success, built.not_passing()
    with served(Built(url, tmp_path / "dbt" / "target" / "manifest.json"), tmp_path / "api") as api:
        for key in gone:
            _served_flagged(api, key)


def _served_flagged(api: ApiWorld, key: str) -> None:
    token = api.token("ops")
    (order,) = api.rows("orders", token, order_id=f"eq.{key}")
    assert order["canonical_status"] == "problem"
    steps = api.rows("order_timeline", token, order_id=f"eq.{key}")
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
