"""Helpers of the live-path tests: an intake and its app on a scratch warehouse, the
sandbox's records, and signed pushes made the way the sandbox makes them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from starlette.testclient import TestClient

from ledger.keys import Signer
from ledger.log import ProvenanceLog
from orderhub.live.intake import Intake
from orderhub.live.service import build_app
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.sources import API_SYSTEMS
from sandbox.push import message
from sandbox.scenario import Scenario
from sandbox.store import SandboxStore

SECRETS = {system: f"{system}-secret" for system in API_SYSTEMS}
AS_OF = datetime(2026, 10, 20, tzinfo=UTC)


def sandbox_store(orders: int = 30) -> SandboxStore:
    return SandboxStore.from_scenario(Scenario(seed=7, orders=orders, as_of=AS_OF, anomalies=0))


@dataclass
class Live:
    url: str
    intake: Intake
    client: TestClient
    counters: dict[str, Any]

    def push(self, system: str, record: dict[str, Any]) -> Any:
        body, headers = message(system, record, SECRETS[system])
        return self.post(system, body, headers)

    def post(self, system: str, body: bytes, headers: dict[str, str]) -> Any:
        return self.client.post(f"/webhooks/{system}", content=body, headers=headers)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


@contextmanager
def live(url: str, queue_size: int = 5000, run: bool = True) -> Iterator[Live]:
    """The receivers and intake on ``url`` (the writer running unless ``run`` is False)."""
    with ProvenanceLog(
        url, "test/live", Signer.generate("test/live"), kinds=PROVENANCE_KINDS
    ) as log:
        intake = Intake(url, log, queue_size=queue_size)
        counters: dict[str, Any] = {}
        stop = threading.Event()
        writer = threading.Thread(target=intake.run, args=(stop,), daemon=True)
        if run:
            writer.start()
        try:
            with TestClient(build_app(intake, SECRETS, counters)) as client:
                yield Live(url, intake, client, counters)
        finally:
            stop.set()
            if run:
                writer.join(timeout=10)
