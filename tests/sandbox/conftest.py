"""Fixtures for the sandbox tests: the default scenario, a started sandbox server, and bearer
tokens from the CRM's and the WMS's OAuth token endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer


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


def _token(sandbox: SandboxServer, system: str, path: str, form: dict[str, str]) -> str:
    """An access token from ``system``'s token endpoint at ``path`` for ``form``."""
    response = httpx.post(sandbox.base_url(system) + path, data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
def crm_token(sandbox: SandboxServer, credentials: SandboxCredentials) -> str:
    """An access token from the CRM's token endpoint (Salesforce client-credentials flow)."""
    form = {"grant_type": "client_credentials", **credentials.for_system("crm")}
    return _token(sandbox, "crm", "/services/oauth2/token", form)
