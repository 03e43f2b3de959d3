"""The embedded warehouse lifecycle, for real: init, start, reuse, stop, restart."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg
import pytest

from orderhub.pg_settings import GIB, MIB, warehouse_settings
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


def test_the_embedded_server_runs_with_a_warehouse_s_settings(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.environ.get("ORDERHUB_TEST_DATABASE_URL"):
        pytest.skip("the tests run on a server of their own, not the embedded one")
    # the server's own values, not a session's: dbt's session options, exported by an earlier
    # test of this process, would set synchronous_commit for the connection
    monkeypatch.delenv("PGOPTIONS", raising=False)
    wanted = warehouse_settings()
    units = {"8kB": 8192, "kB": 1024}
    with connect(pg_server) as conn:
        for name in ("shared_buffers", "work_mem", "maintenance_work_mem"):
            row = conn.execute("select setting, unit from pg_settings where name = %s", (name,))
            setting, unit = row.fetchone() or ("", "")
            assert int(setting) * units[unit] == int(wanted[name].removesuffix("MB")) * MIB
        parallel = conn.execute("show max_parallel_workers_per_gather").fetchone()
        assert parallel == (wanted["max_parallel_workers_per_gather"],)
        assert conn.execute("show synchronous_commit").fetchone() == ("on",)
        conn.execute("create extension if not exists pg_stat_statements")
        assert conn.execute("select count(*) >= 0 from pg_stat_statements").fetchone() == (True,)


def test_warehouse_settings_grow_with_the_machine_and_stop_at_a_ceiling() -> None:
    small, large = warehouse_settings(2 * GIB, 2), warehouse_settings(256 * GIB, 64)
    assert small["shared_buffers"] == "256MB" and large["shared_buffers"] == "2048MB"
    assert small["max_parallel_workers_per_gather"] == "1"
    assert large["max_parallel_workers_per_gather"] == "4"
    assert small["work_mem"] == "16MB" and large["work_mem"] == "128MB"
    assert small["maintenance_work_mem"] == "64MB" and large["maintenance_work_mem"] == "1024MB"
