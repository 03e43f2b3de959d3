"""Environment for the dbt project: turn a libpq URL into the variables its profile reads,
and the ``dbt`` executable installed beside this interpreter.

``dbt_project/profiles.yml`` has one target whose connection comes from
``ORDERHUB_PGHOST``, ``ORDERHUB_PGPORT``, ``ORDERHUB_PGUSER``, ``ORDERHUB_PGPASSWORD``
and ``ORDERHUB_PGDATABASE`` (plus ``ORDERHUB_PGSSLMODE``, optional). Whoever runs dbt
(the CLI, Dagster, the tests) sets them from the warehouse URL with :func:`dbt_env`,
so the URL and its password are never written to a file.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from orderhub.pg_settings import BULK_SESSION_OPTIONS
from orderhub.settings import TELEMETRY_OFF

__all__ = ["SESSION_OPTIONS", "dbt_env", "dbt_executable", "is_bundled_dbt"]

#: libpq options of dbt's sessions: UTC, whatever the server's default time zone, and
#: asynchronous commits (a build is redone after a crash: :mod:`orderhub.pg_settings`).
SESSION_OPTIONS = f"-c TimeZone=UTC {BULK_SESSION_OPTIONS}"


def dbt_env(database_url: str) -> dict[str, str]:
    """Variables for ``dbt_project/profiles.yml`` from a libpq URL (or key=value string).

    Missing parts take libpq's defaults: host ``localhost``, port 5432, the current
    user, and a database named like the user. Percent-escapes in the URL are decoded.
    ``DBT_SEND_ANONYMOUS_USAGE_STATS=false`` and ``PGOPTIONS`` (sessions in UTC, commits
    asynchronous) are always included.

    >>> env = dbt_env("postgresql://app:s%40cret@127.0.0.1:5433/orderhub")
    >>> env["ORDERHUB_PGPASSWORD"], env["ORDERHUB_PGPORT"]
    ('s@cret', '5433')
    """
    try:
        parts = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"not a valid libpq connection URL: {exc}") from exc
    user = str(parts.get("user") or getpass.getuser())
    env = {
        "ORDERHUB_PGHOST": str(parts.get("host") or "localhost"),
        "ORDERHUB_PGPORT": str(parts.get("port") or "5432"),
        "ORDERHUB_PGUSER": user,
        "ORDERHUB_PGPASSWORD": str(parts.get("password") or ""),
        "ORDERHUB_PGDATABASE": str(parts.get("dbname") or user),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": TELEMETRY_OFF["DBT_SEND_ANONYMOUS_USAGE_STATS"],
        # a time a source sends without an offset is UTC on any server, as the audit's
        # derivation spec reads it (docs/audit-bundle.md)
        "PGOPTIONS": SESSION_OPTIONS,
    }
    if parts.get("sslmode"):
        env["ORDERHUB_PGSSLMODE"] = str(parts["sslmode"])
    return env


def dbt_executable() -> str:
    """The ``dbt`` installed beside this interpreter (the venv's ``bin`` need not be on
    PATH), else ``dbt`` from PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def is_bundled_dbt(executable: str) -> bool:
    """Whether ``executable`` is the ``dbt`` installed beside this interpreter."""
    return Path(executable) == Path(sys.executable).with_name("dbt")
