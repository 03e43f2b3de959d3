"""Fixtures for the sandbox tests: the default scenario and a started sandbox server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderhub.sandbox.credentials import SandboxCredentials
from orderhub.sandbox.scenario import Scenario
from orderhub.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """The scenario at its default size and seed."""
    return Scenario()


@pytest.fixture(scope="session")
def credentials() -> SandboxCredentials:
    return SandboxCredentials.generate()


@pytest.fixture(scope="session")
def sandbox(scenario: Scenario, credentials: SandboxCredentials) -> Iterator[SandboxServer]:
    """A sandbox server on a free port serving ``scenario`` (read-only: do not upsert)."""
    with SandboxServer(scenario, credentials) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
