"""Secrets kept as owner-only files under the home folder.

A secret is read from the environment first (``ORDERHUB_SECRET_<NAME>``), then
from ``<home>/secrets/<name>``; when neither exists it is generated and written
with mode 0600. Nothing here logs or prints a secret's value.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from orderhub.settings import Settings


def _token() -> str:
    return secrets.token_urlsafe(32)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that only the owner can ever read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    path.chmod(0o600)


def secret_path(settings: Settings, name: str) -> Path:
    """File that holds secret ``name`` under the home folder."""
    return settings.secrets_dir / name


def secret_env_name(name: str) -> str:
    """The environment variable that gives secret ``name`` (``ORDERHUB_SECRET_<NAME>``)."""
    return "ORDERHUB_SECRET_" + name.upper().replace("-", "_").replace(".", "_")


def get_secret(settings: Settings, name: str, generate: Callable[[], str] = _token) -> str:
    """Return secret ``name``: environment, then file, else generate and store it."""
    value = read_secret(settings, name)
    if value is None:
        value = generate()
        write_private(secret_path(settings, name), value.encode())
    return value


def source_credentials(settings: Settings, system: str) -> dict[str, str]:
    """The credentials orderhub presents to ``system``, keyed by the connector's field name
    (the secret names of ``settings.sources[system].secrets``)."""
    names = settings.source(system).secrets
    return {field: get_secret(settings, name) for field, name in names.items()}


def read_secret(settings: Settings, name: str) -> str | None:
    """Secret ``name`` from the environment or its file, or None (never generated).

    For credentials issued by someone else (an Airbyte server's client secret), which
    orderhub cannot invent.
    """
    if os.environ.get(env_name := secret_env_name(name)):
        return os.environ[env_name]
    path = secret_path(settings, name)
    return path.read_text().strip() if path.exists() else None


#: The Airbyte API's OAuth client secret (issued by the server's administrator).
AIRBYTE_CLIENT_SECRET = "airbyte-client-secret"


def airbyte_client_secret(settings: Settings, client_id: str | None) -> str | None:
    """The secret of the Airbyte API client ``client_id`` (None without a client id); a
    client id without its secret is an error that says where the secret goes."""
    if not client_id:
        return None
    secret = read_secret(settings, AIRBYTE_CLIENT_SECRET)
    if not secret:
        raise ValueError(
            f"the Airbyte client {client_id} has no secret: set "
            f"{secret_env_name(AIRBYTE_CLIENT_SECRET)} or write it to "
            f"{secret_path(settings, AIRBYTE_CLIENT_SECRET)}"
        )
    return secret
