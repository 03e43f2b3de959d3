"""End to end as a user goes: ``orderhub demo``, then ``orderhub api`` read with postgrest-py.

The demo runs on the embedded default (its own PostgreSQL under a fresh home) at small size,
its world placed a minute before the test starts (``--as-of``): the flow extracts it just after,
as it would extract real systems, so the SLA clock (the extraction time) stands there too.
The API is read with the official Python client; every order the scenario created must be
there with the canonical status its stage implies, and the ledger checkpoint the API serves
must verify with the home's public key. A second demo on the same home adds no duplicate
and grows the provenance log consistently with the first checkpoint.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from cli_process import served_api
from postgrest import SyncPostgrestClient

from ledger import store
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.proofs import verify_consistency
from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres, free_port
from sandbox.scenario import Scenario

pytestmark = pytest.mark.slow

ORDERS = 80
SEED = 11
AS_OF = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
SCENARIO = Scenario(seed=SEED, orders=ORDERS, as_of=AS_OF)
#: the batch flow against the scenario's ground truth: without the live path's closing burst,
#: which moves trackers on past what the scenario states (tests/orderhub/test_live_serve.py)
DEMO = (
    "demo", "--orders", str(ORDERS), "--seed", str(SEED), "--as-of", AS_OF.isoformat(),
    "--no-live",
)  # fmt: skip
ORDERHUB = Path(sys.executable).with_name("orderhub")


@dataclass
class Home:
    path: Path
    env: dict[str, str]

    @property
    def settings(self) -> Settings:
        return Settings(home=self.path)

    def orderhub(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ORDERHUB), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def home(server_home: Callable[[str], Path]) -> Iterator[Home]:
    path = server_home("e2e")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    env["ORDERHUB_HOME"] = str(path)
    yield Home(path, env)
    EmbeddedPostgres(Settings(home=path)).stop()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def first_demo(home: Home) -> str:
    result = home.orderhub(*DEMO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def api(home: Home, first_demo: str) -> Iterator[str]:
    with served_api(home.env, free_port()) as (base, token):
        _TOKENS[base] = token
        anonymous = httpx.get(f"{base}/orders", timeout=5)
        assert anonymous.status_code in (401, 403), anonymous.text  # no token: no orders
        yield base


_TOKENS: dict[str, str] = {}


def _client(base: str) -> SyncPostgrestClient:
    """The API at ``base`` read as an analyst, with the token the api fixture minted."""
    client = SyncPostgrestClient(base, schema="api")
    client.auth(_TOKENS[base])
    return client


def _latest_checkpoint(base: str) -> dict[str, object]:
    rows = (
        _client(base)
        .from_("ledger_checkpoints")
        .select("tree_size, root_hash, note")
        .order("tree_size", desc=True)
        .limit(1)
        .execute()
        .data
    )
    assert rows, "the API serves no ledger checkpoint"
    return rows[0]


def _verified(home: Home, row: dict[str, object]) -> Checkpoint:
    verifier = (home.path / "secrets" / "ledger-signing-key.pem.pub").read_text()
    checkpoint = open_checkpoint(str(row["note"]), verifier, origin=home.settings.ledger_origin)
    assert checkpoint.size == row["tree_size"]
    assert "\\x" + checkpoint.root_hash.hex() == row["root_hash"]
    return checkpoint


def test_demo_prints_a_summary_of_every_stage(first_demo: str) -> None:
    for heading in (
        "records loaded / canonical events (orders) per system:",
        "orders per canonical status:",
        "exceptions found:",
        "forecast:",
        "vs seasonal naive",
        "ledger checkpoint: tree size",
    ):
        assert heading in first_demo
    assert re.search(rf"^\s+erp\s+{ORDERS} records", first_demo, re.MULTILINE)
    # the figures are the scenario's: one exception of each kind its anomalies cause, and the
    # one unknown status code it plants
    expected = SCENARIO.expected_exceptions()
    kinds = [kind for found in expected.values() for kind in found]
    assert f"exceptions found: {len(kinds)}" in first_demo.splitlines()
    for kind in set(kinds):
        assert re.search(rf"^\s+{kind}\s+{kinds.count(kind)}$", first_demo, re.MULTILINE)
    assert "unmapped status codes: 1" in first_demo.splitlines()


def test_every_scenario_order_is_served_with_its_canonical_status(api: str) -> None:
    expected = SCENARIO.expected_status()
    rows = _client(api).from_("orders").select("order_id, canonical_status").execute().data
    served = {row["order_id"]: row["canonical_status"] for row in rows}
    assert len(rows) == len(served), "an order is served twice"
    assert served == expected


def test_the_exceptions_served_are_exactly_the_scenarios_anomalies(api: str) -> None:
    expected = SCENARIO.expected_exceptions()
    rows = (
        _client(api)
        .from_("order_exceptions")
        .select("order_id, exception_type, severity, systems, event_ids, detected_since")
        .execute()
        .data
    )
    served: dict[str, set[str]] = {}
    for row in rows:
        served.setdefault(row["order_id"], set()).add(row["exception_type"])
        assert row["systems"] and row["event_ids"] and row["detected_since"], row
    assert served == expected
    assert len(rows) == sum(len(kinds) for kinds in expected.values())


def test_the_postgrest_url_dialect_filters_and_orders(api: str) -> None:
    response = httpx.get(
        f"{api}/orders",
        params={"canonical_status": "eq.delivered", "order": "updated_at.desc", "limit": "5"},
        headers={"Authorization": f"Bearer {_TOKENS[api]}"},
    )
    assert response.status_code == 200
    rows = response.json()
    assert 0 < len(rows) <= 5
    assert {row["canonical_status"] for row in rows} == {"delivered"}
    stamps = [row["updated_at"] for row in rows]
    assert stamps == sorted(stamps, reverse=True)


def test_forecasts_and_timelines_are_served(api: str) -> None:
    client = _client(api)
    forecasts = client.from_("demand_forecasts").select("*").limit(3).execute().data
    assert forecasts and all(row["units_forecast"] >= 0 for row in forecasts)
    order_id = SCENARIO.orders[0].order_id
    timeline = client.from_("order_timeline").select("*").eq("order_id", order_id).execute().data
    assert timeline, f"no timeline for order {order_id}"


def test_the_served_checkpoint_verifies_with_the_home_public_key(home: Home, api: str) -> None:
    checkpoint = _verified(home, _latest_checkpoint(api))
    assert checkpoint.size >= 8  # 4 extractions, 2 dbt builds, validations, forecast, publish


def test_a_second_demo_adds_no_duplicates_and_extends_the_log(home: Home, api: str) -> None:
    client = _client(api)
    before = _verified(home, _latest_checkpoint(api))
    events_before = client.from_("order_events").select("event_id", count="exact").execute()

    result = home.orderhub(*DEMO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    orders = client.from_("orders").select("order_id").execute().data
    assert len(orders) == len({row["order_id"] for row in orders}) == ORDERS
    events_after = client.from_("order_events").select("event_id", count="exact").execute()
    assert events_after.count == events_before.count
    after = _verified(home, _latest_checkpoint(api))
    assert after.size > before.size
    with psycopg.connect(EmbeddedPostgres(home.settings).url()) as conn:
        proof = store.consistency_proof(conn, before.size, after.size)
    verify_consistency(before.size, after.size, before.root_hash, after.root_hash, proof)


def test_an_order_traces_into_a_bundle_that_verifies_offline(
    home: Home, api: str, tmp_path: Path
) -> None:
    import json

    order_id = SCENARIO.orders[0].order_id
    bundle = tmp_path / "bundle.json"
    traced = home.orderhub("audit", "trace", order_id, "--out", str(bundle))
    assert traced.returncode == 0, traced.stdout[-3000:] + traced.stderr[-3000:]
    document = json.loads(bundle.read_text())
    assert document["events"] and document["records"] and document["batches"]
    assert "witness" in {receipt["anchor"] for receipt in document["anchors"]}

    secrets = home.path / "secrets"
    offline = {k: v for k, v in home.env.items() if k != "ORDERHUB_HOME"}
    offline["ORDERHUB_HOME"] = str(tmp_path / "auditor")  # no warehouse, no keys of ours
    verified = subprocess.run(
        [str(ORDERHUB), "audit", "verify", str(bundle),
         "--key", str(secrets / "ledger-signing-key.pem.pub"),
         "--witness-key", str(secrets / "witness-key.pem.pub")],
        env=offline, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
    assert verified.stdout.splitlines()[-1].startswith("VERIFIED:")

    checked = home.orderhub("audit", "check")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "OK: nothing changed since it was logged" in checked.stdout
