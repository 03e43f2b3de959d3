"""SandboxServer: starts on a free port, serves all four systems, stops cleanly; credentials."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from odoo_calls import search_read

from orderhub.secrets import source_credentials
from orderhub.settings import Settings
from orderhub.sources import SOURCE_SECRETS
from sandbox.credentials import SECRET_NAMES, SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer


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
        url, key = server.base_url("wms"), credentials.wms_api_key
        with httpx.Client() as http:
            first = search_read(http, url, key, [], limit=1).json()["result"][0]
            moved = dict(
                first,
                state="done",
                write_date="2026-10-31 23:59:59",
                date_done="2026-10-31 23:59:59",
            )
            server.store.upsert("wms", moved)
            since = [["write_date", ">=", "2026-10-31 23:59:59"]]
            assert search_read(http, url, key, since).json()["result"] == [moved]
            again = search_read(http, url, key, [], limit=1).json()["result"][0]
            assert again["id"] != first["id"]


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


def test_credentials_from_settings_are_the_connectors_source_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERHUB_SECRET_CRM_CLIENT_SECRET", "crm-from-env")
    settings = Settings(home=tmp_path)
    credentials = SandboxCredentials.from_settings(settings)
    assert credentials.crm_client_secret == "crm-from-env"
    assert SandboxCredentials.from_settings(settings) == credentials
    secret_names = [name for names in SOURCE_SECRETS.values() for name in names.values()]
    assert sorted(SECRET_NAMES.values()) == sorted(secret_names)
    for system, names in SOURCE_SECRETS.items():
        assert source_credentials(settings, system) == credentials.for_system(system)
        for field, secret in names.items():
            if secret != "crm-client-secret":
                stored = (tmp_path / "secrets" / secret).read_text()
                assert stored == credentials.for_system(system)[field]
    assert "crm-from-env" not in repr(credentials)
    assert credentials.for_system("erp") == {"api_key": credentials.erp_api_key}
    assert set(credentials.for_system("crm")) == {"client_id", "client_secret"}
    with pytest.raises(ValueError):
        SandboxCredentials("", "a", "b", "c", "d")


def test_token_endpoints_issue_tokens_the_record_endpoints_accept() -> None:
    credentials = SandboxCredentials.generate()
    with SandboxServer(Scenario(orders=5), credentials, token_ttl=60) as server:
        crm = httpx.post(
            server.base_url("crm") + "/services/oauth2/token",
            data={"grant_type": "client_credentials", **credentials.for_system("crm")},
        ).json()
        assert crm["token_type"] == "Bearer" and crm["instance_url"] == server.base_url("crm")
        assert "expires_in" not in crm  # Salesforce does not say
        query = server.base_url("crm") + "/services/data/v60.0/query"
        soql = {"q": "SELECT Id FROM FulfillmentOrder"}
        bearer = {"Authorization": f"Bearer {crm['access_token']}"}
        assert httpx.get(query, params=soql, headers=bearer).status_code == 200
        # Basic client authentication works too (RFC 6749 §2.3.1)
        basic = httpx.post(
            server.base_url("crm") + "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials.crm_client_id, credentials.crm_client_secret),
        ).json()
        bearer = {"Authorization": f"Bearer {basic['access_token']}"}
        assert httpx.get(query, params=soql, headers=bearer).status_code == 200
        server.issuers["crm"].expire_all()
        assert httpx.get(query, params=soql, headers=bearer).status_code == 401


TOKEN_PATHS = {"crm": "/services/oauth2/token"}


@pytest.mark.parametrize(
    ("system", "form", "status", "error"),
    [
        ("crm", {"grant_type": "password"}, 400, "unsupported_grant_type"),
        ("crm", {"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
        ("crm", {"client_secret": "no"}, 400, "invalid_client"),
    ],
)
def test_token_endpoints_refuse_bad_grants(
    system: str, form: dict[str, str], status: int, error: str
) -> None:
    path = TOKEN_PATHS[system]
    credentials = SandboxCredentials.generate()
    with SandboxServer(Scenario(orders=1), credentials) as server:
        data = {"grant_type": "client_credentials", **credentials.for_system(system), **form}
        response = httpx.post(server.base_url(system) + path, data=data)
    assert response.status_code == status
    assert response.json()["error"] == error
