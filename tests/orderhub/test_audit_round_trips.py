"""orderhub.audit.trace_order: a warm trace of an order is four round trips to the warehouse
(the independent reads of each step sent in one pipeline), and the bundle still verifies."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from audit_warehouse import ORDER, AuditWarehouse

from ledger.bundle import verify_bundle
from orderhub.audit import trace_order


class CountingConnection(psycopg.Connection[Any]):
    """Counts the round trips its statements cost: one per statement sent on its own, one
    per pipeline (whose statements are sent together and answered after one sync)."""

    round_trips = 0
    statements = 0
    _piped = 0

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[Any]:  # type: ignore[override]
        self.round_trips += self._piped == 0
        self._piped += 1
        try:
            with super().pipeline() as pipeline:
                yield pipeline
        finally:
            self._piped -= 1

    def execute(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.statements += 1
        self.round_trips += self._piped == 0
        return super().execute(*args, **kwargs)


def test_a_warm_trace_is_four_round_trips(audit_warehouse: AuditWarehouse) -> None:
    with CountingConnection.connect(audit_warehouse.url) as conn:
        trace_order(conn, ORDER)  # cold: the transaction begins
        conn.round_trips = conn.statements = 0
        bundle = trace_order(conn, ORDER)
        assert (conn.round_trips, conn.statements) == (4, 11)
    verify_bundle(bundle, audit_warehouse.log_key, witness_keys=[audit_warehouse.witness_key])
