"""The embedded warehouse lifecycle, for real: init, start, reuse, stop, restart."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres, WarehouseError, connect, warehouse_url


def test_embedded_server_lifecycle(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    server = EmbeddedPostgres(settings)
    assert not server.is_running()
    url = warehouse_url(settings)
    try:
        assert server.is_running()
        with connect(url) as conn:
            conn.execute("create table kept(x int); insert into kept values (42)")
            conn.commit()
        assert server.start() == url  # already running: same server, same URL
        password_file = settings.home_dir / "secrets" / "warehouse-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        log = (settings.home_dir / "logs" / "postgres.log").read_text()
        assert password_file.read_text() not in log
        # password authentication: a wrong password is refused
        wrong = url.replace(url.split(":")[2].split("@")[0], "wrong")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(wrong).close()
    finally:
        assert server.stop()
    assert not server.is_running()
    url = server.start()  # data survives a restart
    try:
        with connect(url) as conn:
            assert conn.execute("select x from kept").fetchone() == (42,)
    finally:
        server.stop()


def test_configured_url_is_used_as_is(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="postgresql://u:p@127.0.0.1:1/db")
    assert warehouse_url(settings) == "postgresql://u:p@127.0.0.1:1/db"
    assert not (tmp_path / "pgdata").exists()


def test_unreachable_server_names_the_host() -> None:
    with pytest.raises(WarehouseError, match=re.escape("127.0.0.1:1/db")):
        connect("postgresql://u:p@127.0.0.1:1/db")
