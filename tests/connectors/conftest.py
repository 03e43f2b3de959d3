"""Fixtures for the connector tests: a sandbox serving the small stub records, and sandboxes
started on demand (stopped after the test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from connector_stubs import Sandbox, start_sandbox, stub_records

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


@pytest.fixture
def sandboxes() -> Iterator[Any]:
    """Starts sandboxes (``start(source, faults)``, fault seed 21) and stops them after the test."""
    started: list[SandboxServer] = []

    def start(source: Any, faults: str = "") -> Sandbox:
        server, credentials = start_sandbox(source, faults, seed=21)
        started.append(server)
        return server, credentials

    yield start
    for server in started:
        server.stop()
