"""Kill a sync at any point and the next run resumes with no record lost and none duplicated.

Three ways a sync dies mid-read, each against a sandbox slowed down (``delay``) so the kill
lands while pages are still coming: the connector process is killed (SIGKILL), the process
running the sync is killed (an orchestrator crash: connector and warehouse session die with
it), and the warehouse drops the loader's session (``pg_terminate_backend``). Each time the
state has not moved past what is committed, and a plain re-run leaves exactly the scenario in
the raw table (the primary key ``(record_key, content_hash)`` makes a duplicate impossible;
the test checks the rows, the state and the batches). Killed alone, the process running the
sync takes its connector with it: nothing goes on paging the source.
"""

from __future__ import annotations

import contextlib
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
from connectors.config import DEFAULT_START_DATE
from connectors.errors import ConnectorError
from connectors.loader import APPLICATION_NAME
from connectors.odata import ERP_CURSOR
from connectors.resume import RESUME_KEY
from connectors.sync import sync_system
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.store import sortable

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


def children_running(name: str, parent: int | None = None) -> list[int]:
    """Pids of the children of ``parent`` (this process) whose command line mentions ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == (parent or os.getpid()) and name in cmdline and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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
    newest = sortable(max(r["LastChangeDateTime"] for r in records))  # SAP's /Date()/ as ISO
    state = {ERP_CURSOR: newest, RESUME_KEY: DEFAULT_START_DATE}  # a first sync
    assert stored_state(db_url, SYSTEM) == {"sales_orders": state}


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


def test_the_connector_dies_with_the_process_running_the_sync(
    db_url: str,
    slow_sandbox: tuple[SandboxServer, Any],
    scenario: Scenario,
    tmp_path: Path,
) -> None:
    server, credentials = slow_sandbox
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(sandbox_config(server, credentials, SYSTEM, page_size=2)))
    config_file.chmod(0o600)
    process = subprocess.Popen(
        [sys.executable, "-c", SYNC_SCRIPT, str(config_file), SYSTEM, db_url],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: server.faults.requests.get(SYSTEM, 0) >= 3, "the third page request")
        (connector,) = children_running("connectors.launch", process.pid)
        os.kill(process.pid, signal.SIGKILL)  # the sync process alone, not its group
        process.wait(30)
        wait_for(lambda: not alive(connector), "the connector to die with its parent", 3.0)
        served = server.faults.requests[SYSTEM]
        time.sleep(DELAY * 6)  # a connector still running would ask for pages meanwhile
        assert server.faults.requests[SYSTEM] == served
        pages = -(-len(scenario.records(SYSTEM)) // 2)
        assert served < pages / 2  # far from the end of the read
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert_nothing_half_done(db_url)
    rerun_completes(db_url, server, credentials, scenario)


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
