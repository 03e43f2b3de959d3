"""Fixtures for the orderhub tests: a small warehouse to audit (see audit_warehouse.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from audit_warehouse import AuditWarehouse, build


@pytest.fixture
def audit_warehouse(db_url: str, server_home: Callable[[str], Path]) -> Iterator[AuditWarehouse]:
    """Raw records in three logged batches, canonical events, a signed, cosigned checkpoint."""
    home = server_home("audit")
    try:
        yield build(db_url, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
