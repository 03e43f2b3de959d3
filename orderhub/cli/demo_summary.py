"""What ``orderhub demo`` prints at the end: figures read back from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from connectors.catalog import CONNECTORS
from orderhub.sources import FILE_SYSTEMS, SOURCE_SYSTEMS


@dataclass
class DemoSummary:
    """What the demo found, read back from the warehouse after the run."""

    success: bool
    failed_steps: list[str] = field(default_factory=list)
    records_per_system: dict[str, int] = field(default_factory=dict)
    events_per_system: dict[str, tuple[int, int]] = field(default_factory=dict)
    orders_per_status: dict[str, int] = field(default_factory=dict)
    exceptions: dict[str, int] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    forecast: dict[str, Any] = field(default_factory=dict)
    checkpoint: dict[str, Any] = field(default_factory=dict)
    #: The live path's burst: what it pushed and the latencies measured (empty: not run).
    live: str = ""

    @property
    def unmapped_codes(self) -> int:
        """How many status codes the crosswalk lacks."""
        return len(self.unmapped)

    def render(self) -> str:
        lines = ["", "orderhub demo — summary", "=" * 23]
        lines.append("records loaded / canonical events (orders) per system:")
        for system in SOURCE_SYSTEMS:
            events, orders = self.events_per_system.get(system, (0, 0))
            records = self.records_per_system.get(system, 0)
            if system in FILE_SYSTEMS and not records:
                continue  # a file source that is not configured
            lines.append(f"  {system:4} {records:7d} records  {events:7d} events ({orders} orders)")
        lines.append("orders per canonical status:")
        for status, count in self.orders_per_status.items():
            lines.append(f"  {status:20} {count:6d}")
        total = sum(self.exceptions.values())
        lines.append(f"exceptions found: {total}")
        for kind, count in self.exceptions.items():
            lines.append(f"  {kind:28} {count:6d}")
        lines.append(f"unmapped status codes: {self.unmapped_codes}")
        lines.extend(f"  {code}" for code in self.unmapped)
        if self.forecast:
            f = self.forecast
            lines.append(
                f"forecast: {f['series']} series, {f['horizon_days']} days ahead; backtest MAE "
                f"{f['model_mae']:.3f} vs seasonal naive {f['baseline_mae']:.3f} "
                f"(WAPE {f['model_wape']:.1%} vs {f['baseline_wape']:.1%}); "
                f"model {f['model_name']} v{f['model_version']}"
            )
        if self.checkpoint:
            lines.append(
                f"ledger checkpoint: tree size {self.checkpoint['tree_size']}, "
                f"root {self.checkpoint['root_hash']}"
            )
        if self.live:
            lines.append(self.live)
        if self.failed_steps:
            lines.append(f"FAILED steps: {', '.join(self.failed_steps)}")
        return "\n".join(lines)


#: The columns of the latest forecast run the summary shows.
_FORECAST_COLUMNS = (
    "run_id",
    "model_name",
    "model_version",
    "horizon_days",
    "series",
    "model_mae",
    "baseline_mae",
    "model_wape",
    "baseline_wape",
)


def _rows(conn: psycopg.Connection, table: str, query: str) -> list[tuple[Any, ...]]:
    """The rows ``query`` reads from ``table``; none while ``table`` does not exist."""
    found = conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()
    if not (found and found[0]):
        return []
    return conn.execute(query).fetchall()


def _counts(conn: psycopg.Connection, table: str, column: str) -> dict[str, int]:
    """Rows of ``table`` per value of ``column``, the most frequent first."""
    query = f"select {column}, count(*) from {table} group by 1 order by 2 desc, 1"
    return {value: int(n) for value, n in _rows(conn, table, query)}


def read_summary(database_url: str, success: bool, failed_steps: list[str]) -> DemoSummary:
    """Read the figures of the summary back from the warehouse."""
    summary = DemoSummary(success=success, failed_steps=failed_steps)
    with psycopg.connect(database_url) as conn:
        for system, connector in CONNECTORS.items():
            tables = [f"{connector.raw_schema}.{stream.name}" for stream in connector.streams]
            counts = [n for t in tables for (n,) in _rows(conn, t, f"select count(*) from {t}")]
            if counts:
                summary.records_per_system[system] = sum(int(n) for n in counts)
        events = "marts.fct_order_status_events"
        for system, n, orders in _rows(
            conn,
            events,
            f"select source_system, count(*), count(distinct order_id) from {events} group by 1",
        ):
            summary.events_per_system[system] = (int(n), int(orders))
        summary.orders_per_status = _counts(
            conn, "marts.fct_order_current_status", "canonical_status"
        )
        summary.exceptions = _counts(conn, "marts.fct_order_exceptions", "exception_type")
        unmapped = "marts.fct_unmapped_status_codes"
        summary.unmapped = [
            f"system={system} field={field_name} code={code!r} (add it to the crosswalk)"
            for system, field_name, code in _rows(
                conn,
                unmapped,
                f"select source_system, source_field, source_code from {unmapped} order by 1, 2, 3",
            )
        ]
        for row in _rows(
            conn,
            "ml.forecast_runs",
            f"select {', '.join(_FORECAST_COLUMNS)} from ml.forecast_runs"
            " order by created_at desc limit 1",
        ):
            summary.forecast = dict(zip(_FORECAST_COLUMNS, row, strict=True))
        for tree_size, root in _rows(
            conn,
            "ledger.checkpoints",
            "select tree_size, root_hash from ledger.checkpoints order by tree_size desc limit 1",
        ):
            root_hex = root.hex() if isinstance(root, bytes | memoryview) else str(root)
            summary.checkpoint = {"tree_size": int(tree_size), "root_hash": root_hex}
    return summary
