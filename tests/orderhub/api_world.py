"""A served warehouse for the API tests: the sandbox's generated scenario built by the real
dbt project (every model, the ``api`` schema with its roles and row-level security), and
PostgREST in front of it with the home's keys - read with real tokens, as clients do."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from dbt_builds import build, database, load
from dbt_records import Batch
from dbt_worlds import AS_OF, extracted

from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orderhub import tracking
from orderhub.api import ApiServer
from orderhub.api_auth import mint_token
from orderhub.secrets import get_secret
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import free_port
from sandbox.scenario import Scenario

#: The world the API tests read: 120 orders, every stage and anomaly, three carriers, two
#: warehouses and their operators.
SCENARIO = Scenario(seed=11, orders=120, as_of=AS_OF)


@dataclass
class ApiWorld:
    """The built warehouse (``url``), its home's settings, PostgREST at ``base`` and the
    build's dbt manifest."""

    url: str
    settings: Settings
    base: str
    manifest: Path

    def token(self, role: str, ttl: timedelta = timedelta(minutes=10), **claims: str) -> str:
        return mint_token(self.settings, role, claims=claims, ttl=ttl)

    def get(self, path: str, token: str | None = None, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.base}/{path}", params=params, headers=headers, timeout=30)

    def rows(self, path: str, token: str | None = None, **params: str) -> list[dict[str, Any]]:
        response = self.get(path, token, **params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return list(response.json())

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """As the warehouse's owner (row security does not apply)."""
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


@dataclass(frozen=True)
class Built:
    """The world's database and the manifest of the build that made it."""

    url: str
    manifest: Path


def build_world(pg_server: str, work: Path) -> Iterator[Built]:
    """The scenario's records in a new database, built once in full."""
    with database(pg_server) as url:
        load(url, [Batch(system, extracted(1), SCENARIO.records(system)) for system in API_SYSTEMS])
        built = build(url, work, *FLOW_BUILD_EXCLUDES)
        assert built.success, built.not_passing()
        yield Built(url, work / "target" / "manifest.json")


#: the authenticator's password in every home this test process serves
AUTHENTICATOR_PASSWORD = secrets.token_urlsafe(24)


@contextmanager
def served(built: Built, home: Path, **settings: Any) -> Iterator[ApiWorld]:
    """PostgREST for the built database, with a home at ``home`` (its keys). The database's
    tracking key becomes the home's while served, and is given back afterwards: another
    home serving the same world does not change the tokens of the one before."""
    config = Settings(home=home, database_url=built.url, **settings)
    # the authenticator is one role of the whole server: every home of this test process
    # gives it the same password, so serving one world does not lock out another's PostgREST
    get_secret(config, "api-authenticator-password", lambda: AUTHENTICATOR_PASSWORD)
    with psycopg.connect(built.url) as conn:
        tracking.ensure_schema(conn)
        before = conn.execute(f"select secret from {tracking.SCHEMA}.tracking_keys").fetchone()
        tracking.prepare(conn, config)
    try:
        with ApiServer(config, built.url, port=free_port()) as server:
            yield ApiWorld(built.url, config, server.base_url, built.manifest)
    finally:
        if before is not None:
            with psycopg.connect(built.url) as conn:
                tracking.install_secret(conn, bytes(before[0]).decode())
