"""SandboxServer: starts on a free port, serves all four systems, stops cleanly; credentials."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from orderhub.sandbox.credentials import SECRET_NAMES, SandboxCredentials
from orderhub.sandbox.scenario import Scenario
from orderhub.sandbox.server import SandboxServer
from orderhub.settings import Settings


def refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_context_manager_serves_and_releases_the_port() -> None:
    credentials = SandboxCredentials.generate()
    with SandboxServer(Scenario(orders=30), credentials) as server:
        port = server.port
        assert server.running
        assert server.base_url("tms") == f"http://127.0.0.1:{port}/tms"
        index = httpx.get(server.root_url + "/").json()
        assert (
            set(index["systems"]) == {"erp", "crm", "wms", "tms"} and index["systems"]["erp"] == 30
        )
        assert httpx.get(server.base_url("erp") + "/nowhere").status_code == 404
    assert not server.running
    assert refused(port)
    server.stop()  # twice is fine


def test_unknown_system() -> None:
    server = SandboxServer(Scenario(orders=1), SandboxCredentials.generate())
    with pytest.raises(ValueError, match="unknown system"):
        server.base_url("oms")
    server.stop()


def test_upsert_is_served_while_running() -> None:
    credentials = SandboxCredentials.generate()
    with SandboxServer(Scenario(orders=40), credentials) as server:
        headers = {"Authorization": f"Bearer {credentials.wms_token}"}
        url = server.base_url("wms") + "/api/v1/pickings"
        first = httpx.get(url, params={"limit": "1"}, headers=headers).json()["data"][0]
        moved = dict(
            first, state="done", write_date="2026-10-31T23:59:59Z", date_done="2026-10-31T23:59:59Z"
        )
        server.store.upsert("wms", moved)
        latest = httpx.get(
            url, params={"updated_since": "2026-10-31T23:59:59Z"}, headers=headers
        ).json()
        assert latest["data"] == [moved] and latest["next_cursor"] is None
        assert (
            httpx.get(url, params={"limit": "1"}, headers=headers).json()["data"][0]["id"]
            != first["id"]
        )


def test_serve_forever_in_a_thread_until_stopped() -> None:
    server = SandboxServer(Scenario(orders=5), SandboxCredentials.generate())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.port
    deadline = time.monotonic() + 10
    while refused(port):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert httpx.get(server.root_url + "/").status_code == 200
    server.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_store_without_scenario_and_neither() -> None:
    with pytest.raises(ValueError):
        SandboxServer(None, SandboxCredentials.generate())


def test_credentials_from_settings_use_the_sandbox_secret_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERHUB_SECRET_SANDBOX_CRM_TOKEN", "crm-from-env")
    settings = Settings(home=tmp_path)
    credentials = SandboxCredentials.from_settings(settings)
    assert credentials.crm_token == "crm-from-env"
    assert SandboxCredentials.from_settings(settings) == credentials
    for name, secret in SECRET_NAMES.items():
        assert secret.startswith("sandbox-")
        if name != "crm_token":
            assert (tmp_path / "secrets" / secret).read_text() == getattr(credentials, name)
    assert "crm-from-env" not in repr(credentials)
    assert credentials.for_system("erp") == credentials.erp_api_key
    with pytest.raises(ValueError):
        SandboxCredentials("", "a", "b", "c")
