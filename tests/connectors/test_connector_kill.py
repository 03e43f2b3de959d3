"""Kill a sync at any point and the next run resumes with no record lost and none duplicated.

Three ways a sync dies mid-read, each against a sandbox slowed down (``delay``) so the kill
lands while pages are still coming: the connector process is killed (SIGKILL), the process
running the sync is killed (an orchestrator crash: connector and warehouse session die with
it), and the warehouse drops the loader's session (``pg_terminate_backend``). Each time the
state has not moved past what is committed, and a plain re-run leaves exactly the scenario in
the raw table (the primary key ``(record_key, content_hash)`` makes a duplicate impossible;
the test checks the rows, the state and the batches).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from connector_stubs import (
    TIMEOUT,
    batches,
    expected_rows,
    raw_rows,
    sandbox_config,
    start_sandbox,
    stored_state,
    table,
)

from connectors import loader as loader_module
from connectors.errors import ConnectorError
from connectors.loader import APPLICATION_NAME
from connectors.sync import sync_system
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer

SYSTEM = "erp"
PAGE = 5
#: Pages are held this long, so a sync lasts long enough to be killed in the middle.
DELAY = 0.15


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(seed=31, orders=60)


@pytest.fixture
def slow_sandbox(scenario: Scenario) -> Iterator[tuple[SandboxServer, Any]]:
    server, credentials = start_sandbox(scenario, f"{SYSTEM}:delay:{DELAY}", seed=31)
    try:
        yield server, credentials
    finally:
        server.stop()


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def children_running(name: str) -> list[int]:
    """Pids of this process's children whose command line mentions ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and name in cmdline:
            found.append(int(entry.name))
    return found


def assert_nothing_half_done(db_url: str) -> None:
    assert raw_rows(db_url, table(SYSTEM)) == set()
    assert stored_state(db_url, SYSTEM) == {}


def rerun_completes(
    db_url: str, server: SandboxServer, credentials: Any, scenario: Scenario
) -> None:
    config = sandbox_config(server, credentials, SYSTEM, page_size=PAGE)
    (result,) = sync_system(SYSTEM, config, db_url, timeout=TIMEOUT)
    records = scenario.records(SYSTEM)
    assert raw_rows(db_url, table(SYSTEM)) == expected_rows(SYSTEM, records)
    assert result.records_new == len(records)
    newest = max(r["LastChangeDateTime"] for r in records)
    assert stored_state(db_url, SYSTEM) == {"sales_orders": {"LastChangeDateTime": newest}}


def sync_in_background(
    config: dict[str, Any], db_url: str
) -> tuple[threading.Thread, dict[str, BaseException]]:
    """Start ``sync_system`` in a thread; what it raises lands in the returned dict."""
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            sync_system(SYSTEM, config, db_url, timeout=TIMEOUT)
        except BaseException as error:  # handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_killing_the_connector_process_mid_sync(
    db_url: str, slow_sandbox: tuple[SandboxServer, Any], scenario: Scenario
) -> None:
    server, credentials = slow_sandbox
    config = sandbox_config(server, credentials, SYSTEM, page_size=PAGE)
    thread, outcome = sync_in_background(config, db_url)
    wait_for(lambda: server.faults.requests.get(SYSTEM, 0) >= 4, "the fourth page request")
    (pid,) = children_running("connectors.launch")
    os.kill(pid, signal.SIGKILL)
    thread.join(TIMEOUT)
    error = outcome.get("error")
    assert isinstance(error, ConnectorError)
    assert "exited with status -9" in str(error)
    assert_nothing_half_done(db_url)
    assert [b[0] for b in batches(db_url, SYSTEM)] == ["failed"]
    rerun_completes(db_url, server, credentials, scenario)


SYNC_SCRIPT = """
import json, sys
from connectors.sync import sync_system
config = json.load(open(sys.argv[1]))
sync_system(sys.argv[2], config, sys.argv[3])
"""


def test_killing_the_process_running_the_sync(
    db_url: str,
    slow_sandbox: tuple[SandboxServer, Any],
    scenario: Scenario,
    tmp_path: Path,
) -> None:
    server, credentials = slow_sandbox
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(sandbox_config(server, credentials, SYSTEM, page_size=PAGE)))
    config_file.chmod(0o600)
    process = subprocess.Popen(
        [sys.executable, "-c", SYNC_SCRIPT, str(config_file), SYSTEM, db_url],
        start_new_session=True,  # its own group: the kill takes its connector child too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: server.faults.requests.get(SYSTEM, 0) >= 4, "the fourth page request")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    assert_nothing_half_done(db_url)
    assert [b[0] for b in batches(db_url, SYSTEM)] == ["running"]  # nobody left to say
    rerun_completes(db_url, server, credentials, scenario)
    assert [b[0] for b in batches(db_url, SYSTEM)] == ["failed", "succeeded"]


def test_the_warehouse_dropping_the_loader_session_mid_sync(
    db_url: str,
    slow_sandbox: tuple[SandboxServer, Any],
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loader_module, "FLUSH_ROWS", 3)  # rows go to the warehouse as they come
    server, credentials = slow_sandbox
    config = sandbox_config(server, credentials, SYSTEM, page_size=PAGE)
    thread, outcome = sync_in_background(config, db_url)
    wait_for(lambda: server.faults.requests.get(SYSTEM, 0) >= 4, "the fourth page request")
    with psycopg.connect(db_url, autocommit=True) as admin:
        (killed,) = admin.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
            " where application_name = %s",
            (f"{APPLICATION_NAME}{SYSTEM}.sales_orders",),
        ).fetchone()
    assert killed == 1
    thread.join(TIMEOUT)
    error = outcome.get("error")
    assert isinstance(error, ConnectorError) and "the warehouse failed while loading" in str(error)
    assert not children_running("connectors.launch")  # the connector was stopped
    assert_nothing_half_done(db_url)
    assert [b[0] for b in batches(db_url, SYSTEM)] == ["failed"]
    rerun_completes(db_url, server, credentials, scenario)
