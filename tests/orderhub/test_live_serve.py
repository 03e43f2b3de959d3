"""``orderhub serve`` as a user runs it, with the sandbox pushing: a change at the TMS is
stored, recomputed by the hot path and visible in the api within seconds, delivered to a
subscriber registered with ``orderhub subscriptions add`` by the dispatcher's own process,
and SIGTERM stops the service and that process within 10 seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from cli_process import CLI, cli_env, orderhub
from dbt_builds import database
from live_world import sandbox_store
from subscriber import Subscriber

from orderhub.live.signatures import webhook_secret
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import free_port
from sandbox.credentials import SandboxCredentials
from sandbox.push import Pusher
from sandbox.server import SandboxServer


def test_orderhub_serve_takes_pushes_to_the_api_and_subscribers(
    pg_server: str, served_template: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)
    for system in API_SYSTEMS:
        webhook_secret(settings, system)  # the sandbox and the service share the home's
    port = free_port()
    subscriber = Subscriber().start()
    with database(pg_server, template=served_template) as url:
        env = {"ORDERHUB_DATABASE_URL": url, "ORDERHUB_SERVE_PORT": str(port)}
        added = orderhub(tmp_path, "subscriptions", "add", subscriber.url, **env)
        assert added.returncode == 0, added.stderr
        subscriber.secret = added.stdout.split("signing secret (Standard Webhooks): ")[1].strip()
        assert "everything" in orderhub(tmp_path, "subscriptions", "list", **env).stdout
        service = subprocess.Popen(
            [*CLI, "serve"], env=cli_env(home, **env), cwd=tmp_path, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        pusher = Pusher(settings, f"http://127.0.0.1:{port}")
        sandbox = SandboxServer(None, SandboxCredentials.generate(), store=sandbox_store(),
                                pusher=pusher)  # fmt: skip
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/health", service)
            with sandbox:
                changes = {"system": "tms", "count": 5}
                moved = httpx.post(f"{sandbox.root_url}/changes", json=changes).json()["changed"]
                assert moved
                started = time.monotonic()
                _wait(lambda: _visible(url, moved), 20)
                visible = time.monotonic() - started
                _wait(lambda: len(subscriber.received) >= 1, 20)
            assert visible < 10
            assert subscriber.bad_signatures == 0
            metrics = f"http://127.0.0.1:{port}/metrics"
            _wait(lambda: httpx.get(metrics, timeout=5).json()["dispatch"]["delivered"] >= 1, 5)
            dispatcher = httpx.get(metrics, timeout=5).json()["dispatch"]["pid"]
            assert dispatcher is not None and dispatcher != service.pid
        finally:
            service.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            out, _ = service.communicate(timeout=15)
            subscriber.stop()
        assert time.monotonic() - stopped < 10, out
        assert service.returncode == 0, out
        assert not _alive(dispatcher), "the dispatcher's process outlived the service"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _visible(url: str, moved: list[dict[str, str]]) -> bool:
    """Whether every moved tracker's new version is what the api's timeline shows."""
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select count(distinct e.source_record_key) from marts.fct_order_status_events e"
            " join raw_tms.trackers r on r.record_key = e.source_record_key"
            " and r.content_hash = e.source_content_hash"
            " where r.cursor_value = any(%s) and e.source_record_key = any(%s)",
            ([m["cursor"] for m in moved], [m["key"] for m in moved]),
        ).fetchone()
    return bool(found and found[0] == len(moved))


def _wait(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _wait_until_up(url: str, service: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.poll() is not None:
            pytest.fail(f"orderhub serve exited: {service.communicate()[0]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("orderhub serve did not start")


def test_the_demo_burst_measures_the_live_path(
    pg_server: str, served_template: str, tmp_path: Path
) -> None:
    from orderhub.live.burst import run_burst

    settings = Settings(home=tmp_path / "home")
    port = free_port()
    with database(pg_server, template=served_template) as url:
        pusher = Pusher(settings, f"http://127.0.0.1:{port}")
        sandbox = SandboxServer(None, SandboxCredentials.generate(), store=sandbox_store(),
                                pusher=pusher)  # fmt: skip
        with sandbox:
            burst = run_burst(settings, url, sandbox.root_url, port, count=5)
    assert 1 <= burst.asked <= 5  # the trackers not yet delivered
    assert burst.served >= 1
    assert "p50" in burst.render() and "p99" in burst.render()
