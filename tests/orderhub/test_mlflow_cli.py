"""``orderhub mlflow``: the MLflow UI on the home's store, on 127.0.0.1, stopped by Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
from cli_process import CLI, cli_env, descendants

from orderhub.cli.mlflow import JOB_EXECUTION, mlflow_command, mlflow_environment
from orderhub.settings import Settings
from orderhub.warehouse import free_port


def test_the_command_names_the_homes_store_and_loopback(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    command = mlflow_command(settings, "127.0.0.1", 5123)
    assert Path(command[0]).name == "mlflow" and Path(command[0]).exists()
    assert command[1] == "ui"
    assert command[command.index("--backend-store-uri") + 1] == settings.mlflow_uri
    root = command[command.index("--default-artifact-root") + 1]
    assert root == settings.mlflow_artifact_dir.resolve().as_uri()
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "5123"
    assert command[command.index("--workers") + 1] == "1"


def test_mlflows_job_execution_is_off_unless_the_environment_says() -> None:
    assert mlflow_environment({"PATH": "/bin"}) == {"PATH": "/bin", JOB_EXECUTION: "false"}
    assert mlflow_environment({JOB_EXECUTION: "true"})[JOB_EXECUTION] == "true"


def test_the_ui_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "mlflow", "--port", str(port)],
        env=cli_env(tmp_path / "home"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        answered = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert answered is not None and answered.status_code == 200, process.poll()
        # the UI's server and nothing of MLflow's job execution (no runner, no consumers)
        running = descendants(process.pid)
        assert any("uvicorn" in command for command in running), running
        assert not [c for c in running if "huey" in c or "_job_runner" in c], running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    out, _ = process.communicate()
    assert f"MLflow UI on http://127.0.0.1:{port}" in out
