"""Fixtures for the connector tests: a sandbox serving the small stub records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connector_stubs import start_sandbox, stub_records

from sandbox.credentials import SandboxCredentials
from sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def stub_sandbox() -> Iterator[tuple[SandboxServer, SandboxCredentials]]:
    """A fault-free sandbox serving :func:`connector_stubs.stub_records` (read-only)."""
    server, credentials = start_sandbox(stub_records())
    try:
        yield server, credentials
    finally:
        server.stop()
