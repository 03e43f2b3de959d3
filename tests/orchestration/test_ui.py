"""The Dagster UI as a data team uses it: ``orderhub ui`` in a real headless Chromium.

One UI for the module: ``orderhub ui`` starts (usable once ``/server_info`` answers, within
the time bench/RESULTS.md records), the asset graph lists every asset of the definitions,
and a materialization launched through the UI's GraphQL API succeeds. Screenshots of the
pages go to the test's output folder (printed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import Chromium
from cli_process import wait_until_answers

from orderhub.warehouse import free_port, scratch_database

pytestmark = pytest.mark.slow

ORDERHUB = Path(sys.executable).with_name("orderhub")
#: the asset a test materializes through the UI: the file source, with no file configured
#: it records that and loads nothing (cheap, and it runs the real resources)
CHEAP_ASSET = ["raw_file", "order_lines"]


@dataclass
class Ui:
    base: str
    started_in: float
    shots: Path

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])


@pytest.fixture(scope="module")
def ui(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    home = tmp_path_factory.mktemp("ui-home")
    shots = tmp_path_factory.mktemp("ui-screenshots")
    with scratch_database(pg_server, prefix="ui") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERHUB_", "DAGSTER_"))}
        env.update(ORDERHUB_HOME=str(home), ORDERHUB_DATABASE_URL=url)
        port = free_port()
        started = time.monotonic()
        process = subprocess.Popen(
            [str(ORDERHUB), "ui", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answers(process, f"{base}/server_info", 180, "orderhub ui")
            yield Ui(base, time.monotonic() - started, shots)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(f"UI screenshots in {shots}")


ASSETS = """
query { assetNodes { assetKey { path } } }
"""
#: the welcome dialog a fresh UI shows, dismissed
SKIP_WELCOME = """(() => { const skip = [...document.querySelectorAll('button')]
    .find(b => b.innerText.trim() === 'Skip'); if (skip) skip.click(); return true; })()"""
#: the asset groups of the graph's sidebar, expanded (their carets, left of the graph);
#: true once there were some to expand
EXPAND_GROUPS = """(() => { const carets = [...document.querySelectorAll(
    '[aria-label="arrow_drop_down"]')].filter(e => e.getBoundingClientRect().left < 500);
    carets.forEach(e => (e.closest('button') || e).click()); return carets.length > 0; })()"""


def test_the_ui_answers_with_its_server_info(ui: Ui) -> None:
    # how fast it comes up is bench/dagster_ui.py's figure (bench/RESULTS.md), not a test's
    print(f"orderhub ui usable after {ui.started_in:.1f} s")
    info = httpx.get(f"{ui.base}/server_info", timeout=10).json()
    assert info.get("dagster_version"), info


def test_the_asset_graph_lists_every_asset(ui: Ui, tmp_path: Path) -> None:
    keys = [node["assetKey"]["path"] for node in ui.graphql(ASSETS)["assetNodes"]]
    assert CHEAP_ASSET in keys and ["ml", "demand_forecasts"] in keys and len(keys) > 30
    browser = Chromium(tmp_path / "profile")
    try:
        with browser.page() as page:
            # tall enough for the sidebar to render every asset of the expanded groups
            page.call(
                "Emulation.setDeviceMetricsOverride",
                width=1600, height=3000, deviceScaleFactor=1, mobile=False,
            )  # fmt: skip
            page.goto(f"{ui.base}/asset-groups")
            page.wait_for("document.body.innerText.includes('canonical_model')", timeout=120)
            page.evaluate(SKIP_WELCOME)
            page.wait_for(EXPAND_GROUPS, timeout=60)
            names = [path[-1] for path in keys]
            missing = page.wait_for(
                f"(() => {{ const text = document.body.innerText;"
                f" const m = {names!r}.filter(n => !text.includes(n));"
                " return m.length === 0 ? 'none' : false; })()",
                timeout=60,
            )
            page.screenshot(ui.shots / "asset-graph.png")
            assert missing == "none"
    finally:
        browser.close()


LOCATIONS = """
query { repositoriesOrError { ... on RepositoryConnection {
  nodes { name location { name } } } } }
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
STATUS = """
query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }
"""


def test_a_materialization_launched_from_the_ui_succeeds(ui: Ui, tmp_path: Path) -> None:
    repository = ui.graphql(LOCATIONS)["repositoriesOrError"]["nodes"][0]
    params = {
        "selector": {
            "repositoryLocationName": repository["location"]["name"],
            "repositoryName": repository["name"],
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": CHEAP_ASSET}],
        },
        "mode": "default",
    }
    launched = ui.graphql(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 300
    status = None
    while time.monotonic() < deadline:
        status = ui.graphql(STATUS, runId=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert status == "SUCCESS"
    browser = Chromium(tmp_path / "profile")
    try:
        with browser.page() as page:
            page.goto(f"{ui.base}/runs/{run_id}")
            page.wait_for("document.body.innerText.includes('Success')", timeout=60)
            page.screenshot(ui.shots / "run.png")
    finally:
        browser.close()
