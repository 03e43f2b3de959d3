"""The ``orderhub`` command line, run as a user runs it: a separate process.

The commands run as ``python -m orderhub.cli`` (what the console script calls) with a
fresh ``ORDERHUB_HOME`` and no other ``ORDERHUB_*`` variable, from a folder without
``.env``. ``demo`` is covered by the end-to-end test; ``ui`` starts ``dagster dev``
(25-40 s, docs/architecture.md#dagster-dev-slow-to-start-stopped-by-sigint), which this
file does not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_process import CLI, cli_env, orderhub, wait_for_sandbox

from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS
from sandbox.apis.erp import ENTITY_SET
from sandbox.credentials import SandboxCredentials


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = orderhub(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in (
        "demo", "api", "token", "track", "ui", "mlflow", "sandbox", "stop", "audit",
        "crosswalk", "connectors",
    ):  # fmt: skip
        assert command in result.stdout
    assert "usage: orderhub" in result.stdout


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = orderhub(tmp_path)
    assert result.returncode == 2
    assert "usage: orderhub" in result.stderr


def test_api_with_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = orderhub(tmp_path, "api", ORDERHUB_DATABASE_URL="postgresql://nobody@127.0.0.1:1/x")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("orderhub api: error: ")
    assert "127.0.0.1" in lines[0] and "port 1" in lines[0]
    assert "Traceback" not in result.stderr


def test_stop_without_a_running_warehouse(tmp_path: Path) -> None:
    result = orderhub(tmp_path, "stop")
    assert result.returncode == 0, result.stderr
    assert "embedded PostgreSQL was not running" in result.stdout


@pytest.fixture
def no_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials come from the home folder only, here as in the subprocess."""
    for name in list(os.environ):
        if name.startswith("ORDERHUB_SECRET_"):
            monkeypatch.delenv(name)


@pytest.fixture
def sandbox_process(tmp_path: Path, no_secret_env: None) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*CLI, "sandbox", "--orders", "20", "--port", "0"],
        env=cli_env(tmp_path / "home"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sandbox_serves_until_stopped(
    tmp_path: Path, sandbox_process: subprocess.Popen[str], stop_signal: signal.Signals
) -> None:
    root, printed = wait_for_sandbox(sandbox_process)
    assert root.startswith("http://127.0.0.1:")
    urls = {system: f"{root}/{system}" for system in API_SYSTEMS}
    for system in API_SYSTEMS:
        assert f"sandbox {system}: {urls[system]}" in printed

    credentials = SandboxCredentials.from_settings(Settings(home=tmp_path / "home"))
    erp = f"{urls['erp']}{ENTITY_SET}"
    with httpx.Client(timeout=10) as http:
        assert http.get(erp).status_code == 401
        response = http.get(
            erp, params={"$top": "1000"}, headers={"APIKey": credentials.erp_api_key}
        )
        assert response.status_code == 200, response.text
        records = response.json()["d"]["results"]
        assert records and all(record["SalesOrder"] for record in records)
        assert len({record["SalesOrder"] for record in records}) <= 20

    sandbox_process.send_signal(stop_signal)
    _out, err = sandbox_process.communicate(timeout=30)
    assert sandbox_process.returncode == 0, err
    assert "Traceback" not in err
    port = int(root.rsplit(":", 1)[1])
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("127.0.0.1", port))


def test_sandbox_on_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = orderhub(tmp_path, "sandbox", "--orders", "20", "--port", str(port))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("orderhub sandbox: error: "), result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]
