"""Fixtures for the connector tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connector_stubs import STUB_CREDENTIALS, stub_records
from fake_apis import FakeApis


@pytest.fixture
def stub_apis() -> Iterator[FakeApis]:
    """The stub APIs serving :func:`connector_stubs.stub_records`."""
    with FakeApis(stub_records(), STUB_CREDENTIALS) as apis:
        yield apis
