"""Fixtures for the anchor tests: a real anvil node and a Fabric Gateway stub, both on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anvil_node import Anvil, start_anvil
from gateway_stub import GatewayServer


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:
    """anvil (npm ``@foundry-rs/anvil-linux-amd64``) on 127.0.0.1, a free port, random keys."""
    with start_anvil(tmp_path_factory.mktemp("anvil")) as node:
        yield node


@pytest.fixture
def gateway() -> Iterator[GatewayServer]:
    """A Fabric Gateway stub serving channel ``orderhub``, chaincode ``checkpoint-anchor``."""
    with GatewayServer() as server:
        yield server
