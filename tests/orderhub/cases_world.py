"""``orderhub serve`` with the cases' alerts wired to local receivers and the sandbox
pushing to it: what the cases' live tests and the bench run."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from alert_receivers import Mailbox, WebhookReceiver
from cli_process import CLI, cli_env
from live_world import sandbox_store

from orderhub.live.signatures import webhook_secret
from orderhub.secrets import secret_env_name
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import free_port
from sandbox.credentials import SandboxCredentials
from sandbox.push import Pusher
from sandbox.server import SandboxServer


@dataclass
class Served:
    url: str
    sandbox: str
    mailbox: Mailbox
    hooks: WebhookReceiver
    env: dict[str, str]

    def inject(self, count: int, seed: int = 0) -> list[dict[str, Any]]:
        """``count`` unknown status codes at the TMS (the sandbox's ``POST /changes``)."""
        body = {"system": "tms", "count": count, "anomaly": "unknown_code", "seed": seed}
        answer = httpx.post(f"{self.sandbox}/changes", json=body, timeout=60)
        answer.raise_for_status()
        return list(answer.json()["changed"])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


def wait(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@contextmanager
def serving(url: str, home: Path, orders: int = 30, **env: str) -> Iterator[Served]:
    """``orderhub serve`` on ``url`` (sweep every second; operations and integration
    alerts to a local SMTP server, review alerts to a local webhook receiver) and the
    sandbox pushing to it."""
    settings = Settings(home=home)
    for system in API_SYSTEMS:
        webhook_secret(settings, system)
    port = free_port()
    with Mailbox() as mailbox, WebhookReceiver() as hooks:
        env = {
            "ORDERHUB_DATABASE_URL": url,
            "ORDERHUB_SERVE_PORT": str(port),
            "ORDERHUB_CASES_SWEEP_SECONDS": "1",
            secret_env_name("alerts-operations"): mailbox.url("ops@example.com"),
            secret_env_name("alerts-operations-lead"): mailbox.url("lead@example.com"),
            secret_env_name("alerts-integration"): hooks.url,
            secret_env_name("alerts-review"): hooks.url,
            **env,
        }
        service = subprocess.Popen(
            [*CLI, "serve"], env=cli_env(home, **env), cwd=home.parent, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        pusher = Pusher(settings, f"http://127.0.0.1:{port}")
        sandbox = SandboxServer(
            None, SandboxCredentials.generate(), store=sandbox_store(orders), pusher=pusher
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                assert service.poll() is None, service.communicate()[0]
                assert time.monotonic() < deadline, "orderhub serve did not start"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            with sandbox:
                yield Served(url, sandbox.root_url, mailbox, hooks, env)
        finally:
            service.terminate()
            out, _ = service.communicate(timeout=20)
            assert service.returncode == 0, out
