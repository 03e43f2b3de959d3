"""The demo's summary: how it renders, and what it reads back from a warehouse.

The whole demo runs in the end-to-end test; here the warehouse is prepared by hand
with the tables the summary reads: raw tables (``connectors.schema``), the marts
(minimal stand-ins with the columns read), ``ml.forecast_runs`` (``ml.store``) and
real signed checkpoints (``ledger.log``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest

from connectors.schema import ensure_schema as ensure_raw_schema
from ledger.keys import Signer
from ledger.log import ProvenanceLog
from ml.store import RunRecord, replace_forecasts
from orderhub.cli.demo_summary import DemoSummary, read_summary
from orderhub.provenance import PROVENANCE_KINDS

ORIGIN = "orderhub.test/provenance"


def full_summary() -> DemoSummary:
    return DemoSummary(
        success=False,
        failed_steps=["api_views", "ledger__checkpoint"],
        records_per_system={"erp": 120, "crm": 45, "wms": 80, "tms": 300},
        events_per_system={"erp": (110, 40), "crm": (44, 30), "wms": (79, 35), "tms": (290, 33)},
        orders_per_status={"delivered": 21, "in_transit": 12, "placed": 7},
        exceptions={"unmapped_status_code": 3, "terminal_conflict": 1},
        unmapped=[
            "system=tms field=status code='lost' (add it to the crosswalk)",
            "system=wms field=PICK.state code='odd' (add it to the crosswalk)",
        ],
        forecast={
            "run_id": "abc",
            "model_name": "demand_forecast",
            "model_version": "4",
            "horizon_days": 14,
            "series": 36,
            "model_mae": 1.23456,
            "baseline_mae": 2.5,
            "model_wape": 0.4123,
            "baseline_wape": 0.8,
        },
        checkpoint={"tree_size": 17, "root_hash": "ab" * 32},
    )


def test_render_full_summary() -> None:
    text = full_summary().render()
    lines = text.splitlines()
    assert lines[:3] == ["", "orderhub demo — summary", "=" * 23]
    assert "  erp      120 records      110 events (40 orders)" in lines
    assert "  tms      300 records      290 events (33 orders)" in lines
    status_at = lines.index("orders per canonical status:")
    assert lines[status_at + 1 : status_at + 4] == [
        f"  {'delivered':20} {21:6d}",
        f"  {'in_transit':20} {12:6d}",
        f"  {'placed':20} {7:6d}",
    ]
    assert "exceptions found: 4" in lines
    assert f"  {'unmapped_status_code':28} {3:6d}" in lines
    assert "unmapped status codes: 2" in lines
    assert "  system=tms field=status code='lost' (add it to the crosswalk)" in lines
    assert (
        "forecast: 36 series, 14 days ahead; backtest MAE 1.235 vs seasonal naive 2.500 "
        "(WAPE 41.2% vs 80.0%); model demand_forecast v4"
    ) in lines
    assert f"ledger checkpoint: tree size 17, root {'ab' * 32}" in lines
    assert lines[-1] == "FAILED steps: api_views, ledger__checkpoint"


def test_render_before_anything_was_built() -> None:
    lines = DemoSummary(success=True).render().splitlines()
    for system in ("erp", "crm", "wms", "tms"):
        assert f"  {system:4} {0:7d} records  {0:7d} events (0 orders)" in lines
    assert "exceptions found: 0" in lines
    assert "unmapped status codes: 0" in lines
    assert not any(line.startswith(("forecast:", "ledger checkpoint:", "FAILED")) for line in lines)


def test_read_summary_of_an_empty_warehouse(db_url: str) -> None:
    summary = read_summary(db_url, True, [])
    assert summary == DemoSummary(success=True)


@pytest.fixture
def warehouse(db_url: str) -> str:
    """A warehouse with a few rows in every table the summary reads."""
    with psycopg.connect(db_url) as conn:
        ensure_raw_schema(conn)
        for table, count in (
            ("raw_erp.sales_orders", 3),
            ("raw_crm.fulfillment_orders", 2),
            ("raw_wms.pickings", 1),
        ):
            for i in range(count):
                conn.execute(
                    f"insert into {table} (record_key, content_hash, data, batch_id, extracted_at)"
                    " values (%s, %s, '{}', 'b1', now())",
                    (str(i), f"{i:064x}"),
                )
        conn.execute(
            """
            create schema marts;
            create table marts.fct_order_status_events (
                event_id text, source_system text, order_id text, canonical_status text);
            insert into marts.fct_order_status_events values
                ('e1', 'erp', 'o1', 'placed'), ('e2', 'erp', 'o2', 'placed'),
                ('e3', 'erp', 'o2', 'processing'), ('e4', 'wms', 'o2', 'in_transit');
            create table marts.fct_order_current_status (order_id text, canonical_status text);
            insert into marts.fct_order_current_status values
                ('o1', 'placed'), ('o2', 'in_transit'), ('o3', 'in_transit');
            create table marts.fct_order_exceptions (exception_id text, exception_type text);
            insert into marts.fct_order_exceptions values
                ('x1', 'terminal_conflict'), ('x2', 'unmapped_status_code'),
                ('x3', 'unmapped_status_code');
            create table marts.fct_unmapped_status_codes (
                source_system text, source_field text, source_code text);
            insert into marts.fct_unmapped_status_codes values ('tms', 'status', 'lost_in_space');
            """
        )
        conn.commit()
        moment = datetime(2026, 3, 1, tzinfo=UTC)
        forecasts = pd.DataFrame(
            [("sku-1", "s1", "north", "2026-03-02", 4.0)],
            columns=["sku", "store_id", "region", "forecast_date", "units_forecast"],
        )
        for version, created_at, mae in (("1", moment, 9.0), ("2", moment + timedelta(1), 1.5)):
            run = RunRecord(
                run_id=f"run-{version}",
                created_at=created_at,
                model_name="demand_forecast",
                model_version=version,
                horizon_days=14,
                series=1,
                model_mae=mae,
                baseline_mae=2.0,
                model_wape=0.25,
                baseline_wape=0.5,
                data_snapshot_hash="00" * 32,
            )
            replace_forecasts(conn, forecasts, run)
    return db_url


def test_read_summary_reads_every_figure(warehouse: str) -> None:
    signer = Signer.generate(ORIGIN)
    with ProvenanceLog(warehouse, ORIGIN, signer, kinds=PROVENANCE_KINDS) as log:
        for i in range(3):
            log.append_event("publish", {"schema": "api", "views": [], "run_id": f"r{i}"})
        log.checkpoint()
        log.append_event("publish", {"schema": "api", "views": [], "run_id": "r3"})
        latest = log.checkpoint()

    summary = read_summary(warehouse, False, ["forecast"])

    assert summary.success is False and summary.failed_steps == ["forecast"]
    assert summary.records_per_system == {"erp": 3, "crm": 2, "wms": 1, "tms": 0, "file": 0}
    assert summary.events_per_system == {"erp": (3, 2), "wms": (1, 1)}
    assert summary.orders_per_status == {"in_transit": 2, "placed": 1}
    assert list(summary.orders_per_status) == ["in_transit", "placed"]  # most orders first
    assert summary.exceptions == {"unmapped_status_code": 2, "terminal_conflict": 1}
    assert list(summary.exceptions) == ["unmapped_status_code", "terminal_conflict"]
    assert summary.unmapped == [
        "system=tms field=status code='lost_in_space' (add it to the crosswalk)"
    ]
    assert summary.forecast["run_id"] == "run-2"  # the latest run
    assert summary.forecast["model_version"] == "2"
    assert summary.forecast["model_mae"] == pytest.approx(1.5)
    assert summary.checkpoint == {"tree_size": 4, "root_hash": latest.root_hash.hex()}

    text = summary.render()
    assert "  erp        3 records        3 events (2 orders)" in text
    assert "  tms        0 records        0 events (0 orders)" in text
    assert "exceptions found: 3" in text
    assert "model demand_forecast v2" in text
    assert f"ledger checkpoint: tree size 4, root {latest.root_hash.hex()}" in text
    assert text.endswith("FAILED steps: forecast")


def test_render_ends_with_the_live_path_burst() -> None:
    line = "live path: 14 of 14 pushed changes served in /orders; latency p50 728 ms"
    rendered = DemoSummary(success=True, live=line).render()
    assert rendered.rstrip().endswith(line)


def test_render_shows_open_cases_by_kind_and_the_time_to_alert() -> None:
    from orderhub.live.burst import Burst

    burst = Burst(4, 4, [0.5, 0.6, 0.7, 0.8], alert_seconds=(1.0, 1.5, 2.0, 9.0))
    summary = DemoSummary(success=True, cases={"stale_order": 5, "misroute": 2},
                          live=burst.render())  # fmt: skip
    lines = summary.render().splitlines()
    at = lines.index("open cases: 7")
    assert lines[at + 1 : at + 3] == [f"  {'stale_order':28} {5:6d}", f"  {'misroute':28} {2:6d}"]
    assert lines[-1] == (
        "cases: 4 injected unknown codes alerted; time to alert p50 1.5 s, p95 9.0 s"
    )


class _ThreeRounds:
    """Answers as the sandbox process does for a scenario of three rounds."""

    def rounds(self) -> int:
        return 3


@pytest.mark.parametrize("first", [0, 4])
def test_a_first_round_outside_the_scenario_is_refused_before_any_run(first: int) -> None:
    from orderhub.cli.demo import run_rounds

    with pytest.raises(SystemExit, match=f"--from-round {first}: .* rounds 1 to 3"):
        run_rounds(_ThreeRounds(), None, first)  # type: ignore[arg-type]
