"""End to end on the messy scenario: ``orderhub demo --scenario messy``, read through PostgREST.

The sandbox plays the messy scenario's rounds, the demo running the whole flow once per
round. Its round 2 sends records that lack their order reference, so the blocking check on
the canonical events fails and the colour that round built is not published: the api must
still answer on every endpoint and serve exactly round 1's ground truth (write-audit-publish:
the marts it reads are the last published colour's, not round 2's). After round 3 the
references are back and the api serves exactly round 3's.
``/orders``, ``/order_timeline``, ``/order_exceptions`` and ``/shipments`` are compared with
the scenario's ground truth (:mod:`sandbox.messy`), written from its plan, row for row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from cli_process import served_api
from messy_served import differences
from postgrest import SyncPostgrestClient

from ledger.batches import load_tree
from orchestration.derived_state import CLAIMS_TREE_PREFIX
from orderhub.claims import claims_tree_of
from orderhub.publishing import ColourSchemas, published_colour
from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres, free_port
from sandbox.messy import MessyScenario

pytestmark = pytest.mark.slow

ORDERHUB = Path(sys.executable).with_name("orderhub")
API_MODELS = (
    Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "api" / "_api__models.yml"
)
#: The world stands a minute before the test starts: the flow extracts it just after.
AS_OF = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
SCENARIO = MessyScenario(as_of=AS_OF)


@pytest.fixture(scope="module")
def home(server_home: Callable[[str], Path]) -> Iterator[tuple[Path, dict[str, str]]]:
    path = server_home("e2e-messy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    env["ORDERHUB_HOME"] = str(path)
    yield path, env
    EmbeddedPostgres(Settings(home=path)).stop()
    shutil.rmtree(path, ignore_errors=True)


def _demo(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    as_of = AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ")
    return subprocess.run(
        [str(ORDERHUB), "demo", "--scenario", "messy", "--as-of", as_of, "--no-live", *extra],
        env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def round_two(home: tuple[Path, dict[str, str]]) -> str:
    """Rounds 1 and 2: the second run's blocking check fails."""
    result = _demo(home[1], "--rounds", "2")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def api(home: tuple[Path, dict[str, str]], round_two: str) -> Iterator[str]:
    with served_api(home[1], free_port()) as (base, token):
        _TOKENS[base] = token
        yield base


_TOKENS: dict[str, str] = {}


def _fetch(base: str) -> Callable[[str, tuple[str, ...]], list[dict[str, Any]]]:
    client = SyncPostgrestClient(base, schema="api")
    client.auth(_TOKENS[base])

    def fetch(view: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        return list(client.from_(view).select(",".join(columns)).execute().data)

    return fetch


def test_round_two_fails_the_blocking_check(round_two: str) -> None:
    assert "round 2 of 3" in round_two
    failed = round_two.splitlines()[-1]
    assert failed.startswith("FAILED steps:") and "gx_canonical_events" in failed, failed


def test_every_endpoint_answers_after_the_failed_check(api: str) -> None:
    models = yaml.safe_load(API_MODELS.read_text())["models"]
    views = [  # the views an analyst reads (functions such as the tracking lookup are no views)
        model["config"]["alias"]
        for model in models
        if "alias" in model.get("config", {})
        and "analyst" in model["config"]["meta"]["access"]["roles"]
    ]
    assert "shipments" in views
    analyst = {"Authorization": f"Bearer {_TOKENS[api]}"}
    for view in views:
        response = httpx.get(f"{api}/{view}", params={"limit": "1"}, headers=analyst, timeout=30)
        assert response.status_code == 200, (view, response.text)


def test_round_two_is_not_published_round_one_is_served(api: str) -> None:
    assert differences(SCENARIO, 2, _fetch(api)) != []
    assert differences(SCENARIO, 1, _fetch(api)) == []


def test_round_three_serves_its_ground_truth(home: tuple[Path, dict[str, str]], api: str) -> None:
    result = _demo(home[1], "--from-round", "3")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "moved on to round 3 of 3 without a run" in result.stdout
    assert differences(SCENARIO, 3, _fetch(api)) == []
    # round 3 built the colour round 2 built, from round 2's kept claim leaves: its logged
    # claims tree is the tree of every claim that colour's marts hold, read whole
    with psycopg.connect(EmbeddedPostgres(Settings(home=home[0])).url()) as conn:
        colour = ColourSchemas.of(published_colour(conn) or "").marts
        latest = conn.execute(
            "select batch_id from ledger.batch_trees where batch_id like %s"
            " order by batch_id desc limit 1",
            (f"{CLAIMS_TREE_PREFIX}%",),
        ).fetchone()
        marked = conn.execute(
            "select count(*) from orderhub_meta.claim_leaf_marks where marts_schema = %s",
            (colour,),
        ).fetchone()
        assert latest is not None and marked == (1,)
        logged = load_tree(conn, latest[0])
        whole = claims_tree_of(conn, marts=colour)
    assert logged is not None and (logged.root(), logged.size) == (whole.root(), whole.size)
