"""Order lines of the file source through dbt: staging, the canonical order lines and
orders, and the daily demand the forecast reads (returns kept apart, promotions, country).

The lines are loaded by the real file connector (CSV and a column mapping); dbt builds the
models the demand needs (about 10 s).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from dbt.cli.main import dbtRunner

import fulfilment.store as fulfilment_store
import ledger.store as ledger_store
import ml.store as ml_store
from connectors.file_source.sync import sync_file
from connectors.loader import ensure_schema
from orderhub.dbt_env import dbt_env
from orderhub.sources import FileSourceSettings

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
LINES = pd.DataFrame(
    {
        "receipt": ["R1", "R1", "R2", "R3"],
        "line": [1, 2, 1, 1],
        "article": ["A-01", "B-02", "A-01", "A-01"],
        "shop": ["0042", "0042", "0042", "0007"],
        "qty": [2, 1, -1, 3],
        "price": [1.5, 4.0, 1.5, None],
        "sold_at": [
            "2026-10-03T09:15:00+02:00",
            "2026-10-03T09:15:00+02:00",
            "2026-10-04T18:00:00+02:00",
            "2026-10-04T23:30:00+02:00",
        ],
        "promo": [True, False, False, True],
        "country": ["DE", "DE", "DE", "DE"],
    }
)
MAPPING = {
    "columns": {
        "order_id": "receipt",
        "line_id": "line",
        "sku": "article",
        "store_id": "shop",
        "quantity": "qty",
        "unit_price": "price",
        "ordered_at": "sold_at",
        "on_promotion": "promo",
        "country": "country",
    },
}


@pytest.fixture(scope="module")
def built(pg_server: str, tmp_path_factory: pytest.TempPathFactory):
    from orderhub.warehouse import scratch_database

    work = tmp_path_factory.mktemp("dbt-file")
    (work / "mapping.json").write_text(json.dumps(MAPPING))
    LINES.to_csv(work / "lines.csv", index=False)
    with scratch_database(pg_server, prefix="dbtfile") as url:
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
            ml_store.ensure_schema(conn)
            fulfilment_store.ensure_schema(conn)
            ledger_store.ensure_schema(conn)
            conn.commit()
        source = FileSourceSettings(
            location=str(work / "lines.csv"), mapping=str(work / "mapping.json")
        )
        sync_file(source, url)
        with pytest.MonkeyPatch.context() as env:
            for key, value in dbt_env(url).items():
                env.setenv(key, value)
            result = dbtRunner().invoke(
                [
                    "build",
                    "--select",
                    "+fct_daily_demand",
                    "+fct_orders",
                    "api_daily_demand",
                    "api_demand_forecasts",
                    "--indirect-selection",
                    "cautious",
                    "--project-dir",
                    str(PROJECT),
                    "--profiles-dir",
                    str(PROJECT),
                    "--target-path",
                    str(work / "target"),
                    "--log-path",
                    str(work / "logs"),
                    "--no-use-colors",
                ]
            )
        assert result.exception is None, result.exception
        failed = [
            f"{r.node.unique_id}: {r.status} {r.message}"
            for r in result.result.results
            if str(r.status) not in ("success", "pass")
        ]
        assert result.success, failed
        yield url


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_file_lines_become_canonical_order_lines_and_orders(built: str) -> None:
    lines = _query(
        built,
        "select source_system, order_id, line_id, sku, store_id, region, country,"
        " quantity::float, is_return, on_promotion from marts.fct_order_lines order by 2, 3",
    )
    assert lines == [
        ("file", "R1", "1", "A-01", "0042", "DE", "DE", 2.0, False, True),
        ("file", "R1", "2", "B-02", "0042", "DE", "DE", 1.0, False, False),
        ("file", "R2", "1", "A-01", "0042", "DE", "DE", -1.0, True, False),
        ("file", "R3", "1", "A-01", "0007", "DE", "DE", 3.0, False, True),
    ]
    orders = _query(
        built,
        "select order_id, lines, units::float, returned_units::float, net_amount::float"
        " from marts.fct_orders order by 1",
    )
    assert orders == [
        ("R1", 2, 3.0, 0.0, 7.0),
        ("R2", 1, 0.0, 1.0, -1.5),
        ("R3", 1, 3.0, 0.0, None),
    ]


def test_daily_demand_counts_sales_by_utc_day_and_returns_apart(built: str) -> None:
    rows = _query(
        built,
        "select sku, store_id, region, demand_date, units::float, orders,"
        " returned_units::float, country, on_promotion from api.daily_demand order by 1, 2, 4",
    )
    assert rows == [
        ("A-01", "0007", "DE", date(2026, 10, 4), 3.0, 1, 0.0, "DE", True),
        ("A-01", "0042", "DE", date(2026, 10, 3), 2.0, 1, 0.0, "DE", True),
        ("A-01", "0042", "DE", date(2026, 10, 4), 0.0, 1, 1.0, "DE", False),
        ("B-02", "0042", "DE", date(2026, 10, 3), 1.0, 1, 0.0, "DE", False),
    ]
    columns = {
        name
        for (name,) in _query(
            built,
            "select column_name from information_schema.columns"
            " where table_schema = 'api' and table_name = 'demand_forecasts'",
        )
    }
    assert {"units_lower_80", "units_upper_80", "units_lower_95", "units_upper_95"} <= columns
