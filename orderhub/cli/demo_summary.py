"""What ``orderhub demo`` prints at the end: figures read back from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from orderhub.sources import SOURCE_SYSTEMS


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
        if self.failed_steps:
            lines.append(f"FAILED steps: {', '.join(self.failed_steps)}")
        return "\n".join(lines)


def _table_exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()
    return bool(row and row[0])


def read_summary(database_url: str, success: bool, failed_steps: list[str]) -> DemoSummary:
    """Read the figures of the summary back from the warehouse."""
    summary = DemoSummary(success=success, failed_steps=failed_steps)
    with psycopg.connect(database_url) as conn:
        for system, stream in (
            ("erp", "sales_orders"),
            ("crm", "fulfillment_orders"),
            ("wms", "pickings"),
            ("tms", "trackers"),
        ):
            if _table_exists(conn, f"raw_{system}.{stream}"):
                row = conn.execute(f"select count(*) from raw_{system}.{stream}").fetchone()
                summary.records_per_system[system] = int(row[0]) if row else 0
        if _table_exists(conn, "marts.fct_order_status_events"):
            for system, events, orders in conn.execute(
                "select source_system, count(*), count(distinct order_id)"
                " from marts.fct_order_status_events group by 1"
            ):
                summary.events_per_system[system] = (int(events), int(orders))
        if _table_exists(conn, "marts.fct_order_current_status"):
            summary.orders_per_status = {
                status: int(n)
                for status, n in conn.execute(
                    "select canonical_status, count(*) from marts.fct_order_current_status"
                    " group by 1 order by 2 desc, 1"
                )
            }
        if _table_exists(conn, "marts.fct_order_exceptions"):
            summary.exceptions = {
                kind: int(n)
                for kind, n in conn.execute(
                    "select exception_type, count(*) from marts.fct_order_exceptions"
                    " group by 1 order by 2 desc, 1"
                )
            }
        if _table_exists(conn, "marts.fct_unmapped_status_codes"):
            summary.unmapped = [
                f"system={system} field={field_name} code={code!r} (add it to the crosswalk)"
                for system, field_name, code in conn.execute(
                    "select source_system, source_field, source_code"
                    " from marts.fct_unmapped_status_codes order by 1, 2, 3"
                )
            ]
        if _table_exists(conn, "ml.forecast_runs"):
            cur = conn.execute(
                "select run_id, model_name, model_version, horizon_days, series, model_mae,"
                " baseline_mae, model_wape, baseline_wape from ml.forecast_runs"
                " order by created_at desc limit 1"
            )
            row = cur.fetchone()
            if row:
                names = [d.name for d in cur.description or []]
                summary.forecast = dict(zip(names, row, strict=True))
        if _table_exists(conn, "ledger.checkpoints"):
            row = conn.execute(
                "select tree_size, root_hash from ledger.checkpoints"
                " order by tree_size desc limit 1"
            ).fetchone()
            if row:
                root = row[1].hex() if isinstance(row[1], bytes | memoryview) else str(row[1])
                summary.checkpoint = {"tree_size": int(row[0]), "root_hash": root}
    return summary
