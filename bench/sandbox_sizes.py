"""What the benchmarks that sync a sandbox at several sizes share (bench/sandbox_sync.py,
bench/sync_memory.py): one embedded PostgreSQL in a temporary home for the whole run, and,
per size, ``orderhub sandbox`` serving the generated scenario (seed 7) in its own process with
each system's connector config at the API's largest page."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.config import source_config
from orderhub.cli.sandbox import SandboxProcess, sandbox_command
from orderhub.secrets import secret_env_name
from orderhub.settings import Settings, disable_telemetry
from orderhub.sources import SOURCE_OPTIONS
from orderhub.warehouse import EmbeddedPostgres
from sandbox.credentials import SECRET_NAMES, SandboxCredentials

#: The largest page each API serves (docs/sources.md; as bench/connectors.py uses them).
PAGE_SIZE = {"erp": 1000, "crm": 2000, "wms": 500, "tms": 100}


@contextmanager
def warehouse_server(prefix: str) -> Iterator[tuple[str, Path]]:
    """A temporary home with a running embedded PostgreSQL: its maintenance database's URL
    (for ``scratch_database``) and the home, removed afterwards."""
    disable_telemetry()
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        postgres = EmbeddedPostgres(Settings(home=Path(home) / "warehouse"))
        server = postgres.start().rpartition("/")[0] + "/postgres"
        try:
            yield server, Path(home)
        finally:
            postgres.stop()


@contextmanager
def sandbox_of(
    orders: int, home: Path, systems: list[str]
) -> Iterator[tuple[int, dict[str, dict[str, Any]]]]:
    """The sandbox serving ``orders`` orders from ``home`` (created) in its own process: its
    pid and each of ``systems``' connector config (the sandbox's credentials, also set in the
    environment as ``orderhub sandbox`` reads them)."""
    home.mkdir(parents=True, exist_ok=True)
    credentials = SandboxCredentials.generate()
    for attribute, secret in SECRET_NAMES.items():
        os.environ[secret_env_name(secret)] = getattr(credentials, attribute)
    command = sandbox_command(Settings(home=home), orders=orders, seed=7, anomalies=1, port=0)
    with SandboxProcess(command, start_timeout=900) as sandbox:
        assert sandbox.pid is not None
        configs = {
            system: source_config(
                system,
                sandbox.urls[system],
                credentials.for_system(system),
                page_size=PAGE_SIZE[system],
                options=SOURCE_OPTIONS.get(system),
            )
            for system in systems
        }
        yield sandbox.pid, configs
