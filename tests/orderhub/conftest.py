"""Fixtures for the orderhub tests: a small warehouse to audit (see audit_warehouse.py), a
copy of the session's audit_template (tests/conftest.py) for each test that uses it; a
built world served by PostgREST for the API tests (see api_world.py), built once; and
Debian's headless Chromium under Selenium for the tracking page's tests (see browser.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_world import ApiWorld, Built, build_world, served
from audit_warehouse import AuditWarehouse, copy, drop
from browser import selenium_chromium
from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture
def audit_warehouse(
    audit_template: AuditWarehouse, server_home: Callable[[str], Path]
) -> Iterator[AuditWarehouse]:
    """Raw records in three logged batches, a real dbt build logged with its claims, a
    signed, cosigned checkpoint: a copy of its own."""
    home = server_home("audit")
    warehouse = copy(audit_template, home)
    try:
        yield warehouse
    finally:
        drop(warehouse)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def built_world(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The sandbox's generated scenario, built by the dbt project (once per session)."""
    yield from build_world(pg_server, tmp_path_factory.mktemp("api-world"))


@pytest.fixture(scope="session")
def api_world(built_world: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    """PostgREST serving the built world, with its home's keys."""
    with served(built_world, tmp_path_factory.mktemp("api-home") / "home") as world:
        yield world


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Debian's headless Chromium driven by Selenium (a fresh profile per test)."""
    with selenium_chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def hot_template(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The live-path tests' warehouse: the main scenario's first deliveries built by dbt
    (hot_path_world.py); copied by each test."""
    from hot_path_world import built_template

    with built_template(pg_server, tmp_path_factory.mktemp("hot-base")) as url:
        yield url


@pytest.fixture(scope="session")
def hot_models(hot_template: str, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The hot path's compiled selects (dbt compile against the template)."""
    from orderhub.recompute import compile_models

    return compile_models(hot_template, tmp_path_factory.mktemp("hot-compile"))


@pytest.fixture(scope="session")
def served_template(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sandbox's scenario built by dbt, for ``orderhub serve`` with the sandbox pushing
    (hot_path_world.py): built once, copied by each test that serves it."""
    from hot_path_world import sandbox_template

    with sandbox_template(pg_server, tmp_path_factory.mktemp("serve-base")) as url:
        yield url
