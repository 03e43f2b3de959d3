"""``orderhub connectors deploy`` against a stub of Airbyte's public API, and the sandbox's
``--faults`` option, both run as a user runs them: ``python -m orderhub.cli`` in a process;
and the fault line the demo shows from the sandbox it starts.

No Airbyte server runs here: :mod:`airbyte_stub` (tests/connectors) follows the public API's
request and response shapes; tests/connectors/test_connector_airbyte_server.py checks what a
deploy sends in detail.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from airbyte_stub import AirbyteStub
from cli_process import CLI, cli_env, orderhub, wait_for_sandbox

from orderhub.cli.sandbox import SandboxProcess, sandbox_command
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS
from sandbox.credentials import SandboxCredentials


def results(stdout: str) -> list[str]:
    """The one line per system deploy prints (progress lines carry a clock)."""
    return [line for line in stdout.splitlines() if ": connection " in line]


@pytest.fixture
def stub() -> Iterator[AirbyteStub]:
    with AirbyteStub() as server:
        yield server


def deploy_env(stub: AirbyteStub, db_url: str) -> dict[str, str]:
    return {
        "ORDERHUB_DATABASE_URL": db_url,
        "ORDERHUB_AIRBYTE_CLIENT_ID": stub.client_id,
        "ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET": stub.client_secret,
        **{
            f"ORDERHUB_SOURCES__{s.upper()}__BASE_URL": f"http://sandbox.local:9000/{s}"
            for s in API_SYSTEMS
        },
    }


def test_deploy_publishes_every_connector_and_is_repeatable(
    tmp_path: Path, stub: AirbyteStub, db_url: str
) -> None:
    args = ("connectors", "deploy", "--airbyte-url", stub.url, "--workspace", stub.workspace_id)
    first = orderhub(tmp_path, *args, "--warehouse-host", "db.internal", **deploy_env(stub, db_url))
    assert first.returncode == 0, first.stderr
    lines = results(first.stdout)
    assert [line.split(":")[0] for line in lines] == list(API_SYSTEMS)
    assert {c["name"] for c in stub.connections.values()} == {f"orderhub-{s}" for s in API_SYSTEMS}
    (destination,) = stub.destinations.values()
    assert destination["configuration"]["host"] == "db.internal"
    assert destination["configuration"]["database"] == db_url.rsplit("/", 1)[1]
    # the sources carry the home's credentials, the ones the sandbox accepts
    credentials = SandboxCredentials.from_settings(Settings(home=tmp_path / "home"))
    for source in stub.sources.values():
        system = source["name"].removeprefix("orderhub-")
        config = source["configuration"]
        assert config["base_url"] == f"http://sandbox.local:9000/{system}"
        assert {k: config[k] for k in credentials.for_system(system)} == credentials.for_system(
            system
        )
    assert stub.client_secret not in first.stdout + first.stderr
    again = orderhub(tmp_path, *args, "--warehouse-host", "db.internal", **deploy_env(stub, db_url))
    assert again.returncode == 0, again.stderr
    assert results(again.stdout) == lines  # same ids: updated, not duplicated
    assert len(stub.connections) == len(API_SYSTEMS) and len(stub.destinations) == 1


def test_deploy_names_what_is_missing(tmp_path: Path, stub: AirbyteStub, db_url: str) -> None:
    env = deploy_env(stub, db_url)
    del env["ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET"]
    no_secret = orderhub(
        tmp_path, "connectors", "deploy", "--airbyte-url", stub.url, "--workspace", "w", **env
    )
    assert no_secret.returncode == 2
    assert "ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET" in no_secret.stderr
    no_workspace = orderhub(tmp_path, "connectors", "deploy", "--airbyte-url", stub.url)
    assert no_workspace.returncode == 2 and "--workspace" in no_workspace.stderr


def test_a_bad_fault_spec_is_one_clear_line(tmp_path: Path) -> None:
    result = orderhub(tmp_path, "sandbox", "--orders", "5", "--faults", "erp:418@1")
    assert result.returncode == 2
    assert result.stderr.startswith("orderhub sandbox: error: fault 'erp:418@1': unknown kind")


def test_the_sandbox_serves_the_faults_it_is_given(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*CLI, "sandbox", "--orders", "20", "--port", "0", "--faults",
         "erp:429:3@1,erp:503@2", "--fault-seed", "5"],
        env=cli_env(tmp_path / "home"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        root, printed = wait_for_sandbox(process)
        url = f"{root}/erp"
        key = SandboxCredentials.from_settings(Settings(home=tmp_path / "home")).erp_api_key
        entity = f"{url}/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"
        with httpx.Client(timeout=10, headers={"APIKey": key}) as http:
            first, second, third = (http.get(entity) for _ in range(3))
        assert (first.status_code, first.headers["retry-after"]) == (429, "3")
        assert (second.status_code, third.status_code) == (503, 200)
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "sandbox faults (seed 5): erp:429:3@1, erp:503@2" in printed


@pytest.mark.parametrize(
    ("faults", "said"),
    [
        ("erp:429@3,tms:drop=0.1", "sandbox faults (seed 7): erp:429:1@3, tms:drop=0.1"),
        (None, "sandbox faults: none (set them with --faults or ORDERHUB_SANDBOX_FAULTS)"),
    ],
)
def test_the_demo_says_which_source_faults_are_active(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    faults: str | None,
    said: str,
) -> None:
    # `orderhub demo` runs the sandbox as a child (SandboxProcess) and passes on what it
    # prints; ORDERHUB_SANDBOX_FAULTS reaches the child through the environment.
    if faults is None:
        monkeypatch.delenv("ORDERHUB_SANDBOX_FAULTS", raising=False)
    else:
        monkeypatch.setenv("ORDERHUB_SANDBOX_FAULTS", faults)
    command = sandbox_command(
        Settings(home=tmp_path / "home"), orders=5, seed=7, anomalies=0, port=0
    )
    with SandboxProcess(command) as sandbox:
        assert sandbox.root_url.startswith("http://")
    lines = capsys.readouterr().out.splitlines()
    assert any(line.endswith(f"] {said}") for line in lines), lines
