"""Secrets: environment first, then owner-only files, generated when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderhub.secrets import get_secret
from orderhub.settings import Settings


def test_generated_once_and_owner_only(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    first = get_secret(settings, "crm-token")
    assert len(first) >= 32
    assert get_secret(settings, "crm-token") == first
    path = tmp_path / "secrets" / "crm-token"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700


def test_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_SECRET_CRM_TOKEN", "from-env")
    assert get_secret(Settings(home=tmp_path), "crm-token") == "from-env"
    assert not (tmp_path / "secrets" / "crm-token").exists()
