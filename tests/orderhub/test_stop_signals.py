"""Long-running commands stop cleanly within 10 s on SIGTERM and SIGINT, as process
supervisors (systemd, Kubernetes, supervisord) expect: ``orderhub api`` started as a user
starts it, with PostgREST and the tracking site gone after it; ``orderhub mlflow``; and the
foreground runner ``orderhub ui`` uses, on a child that stops only on SIGINT."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_world import ApiWorld, free_port
from cli_process import CLI, children, cli_env, processes_naming, wait_until_answers

#: What a supervisor waits before it kills: the product kills what it started after 8 s,
#: and is gone soon after; the rest allows for a loaded shared machine (tests run side by side)
GRACE = 25.0


def _wait_for(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    wait_until_answers(process, url, timeout, "the service", lambda status: status < 500)


def _stopped_within(process: subprocess.Popen[str], signum: int) -> float:
    started = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"still running {GRACE:.0f} s after {signal.Signals(signum).name}")
    return time.monotonic() - started


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_orderhub_api_stops_with_postgrest_and_the_site(
    api_world: ApiWorld, tmp_path: Path, signum: int
) -> None:
    api_port, site_port = free_port(), free_port()
    home = tmp_path / "home"
    # the same deployment started again: the world's own secrets (another home's would
    # re-key the tracking tokens and the authenticator's password of the world's database)
    shutil.copytree(api_world.settings.home_dir / "secrets", home / "secrets")
    process = subprocess.Popen(
        [*CLI, "api", "--port", str(api_port), "--site-port", str(site_port)],
        env=cli_env(home, ORDERHUB_DATABASE_URL=api_world.url),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    api, site = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{site_port}"
    _wait_for(f"{api}/", process)
    _wait_for(f"{site}/track", process)
    (postgrest,) = processes_naming(str(home / "run" / "postgrest.conf"))

    took = _stopped_within(process, signum)
    out, err = process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "tracking page: " in out
    assert took < GRACE
    with pytest.raises(ProcessLookupError):
        os.kill(postgrest, 0)
    assert _refused(f"{api}/") and _refused(f"{site}/track")


def test_orderhub_mlflow_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    process = subprocess.Popen(
        [*CLI, "mlflow", "--port", str(port)],
        env=cli_env(home), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _wait_for(f"http://127.0.0.1:{port}/", process, timeout=120)
    assert processes_naming(str(home / "mlflow"))
    _stopped_within(process, signal.SIGTERM)
    process.communicate()
    deadline = time.monotonic() + 5
    while processes_naming(str(home / "mlflow")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_naming(str(home / "mlflow")) == []
    assert _refused(f"http://127.0.0.1:{port}/")


#: A child that, like ``dagster dev``, ignores SIGTERM and stops on SIGINT.
_STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
try:
    time.sleep(600)
except KeyboardInterrupt:
    sys.exit(0)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_foreground_runner_stops_its_child_with_its_own_signal(
    tmp_path: Path, signum: int
) -> None:
    runner = (
        "import signal, sys\n"
        "from orderhub.processes import run_child\n"
        f"sys.exit(run_child([sys.executable, '-c', {_STUBBORN!r}], stop_signal=signal.SIGINT))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", runner], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    (child,) = children(process.pid)
    took = _stopped_within(process, signum)
    assert process.wait() == 0 and took < 5
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
