"""The forecast tables and their atomic replacement, against a real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import psycopg
import pytest
from forecast_runs import RUN

from ml.store import ensure_schema, replace_forecasts


def _forecasts(value: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["A", "A", "B", "B"],
            "store_id": ["S1", "S1", "S2", "S2"],
            "region": ["north", "north", "south", "south"],
            "forecast_date": [date(2026, 10, 1), date(2026, 10, 2)] * 2,
            "units_forecast": [value] * 4,
        }
    )


def test_ensure_schema_is_idempotent(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        ensure_schema(conn)
        ensure_schema(conn)
        conn.execute("create view public.forecasts as select * from ml.demand_forecasts")
        ensure_schema(conn)
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'ml' order by 1"
        ).fetchall()
    assert tables == [("demand_forecasts",), ("forecast_runs",)]


def test_replace_swaps_all_rows_and_keeps_the_run_history(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        assert replace_forecasts(conn, _forecasts(1.0), RUN) == 4
        assert replace_forecasts(conn, _forecasts(2.0).iloc[:2], replace(RUN, run_id="r2")) == 2
        rows = conn.execute(
            "select sku, forecast_date, units_forecast, run_id from ml.demand_forecasts order by 2"
        ).fetchall()
        runs = conn.execute("select run_id, model_mae from ml.forecast_runs order by 1").fetchall()
    assert rows == [("A", date(2026, 10, 1), 2.0, "r2"), ("A", date(2026, 10, 2), 2.0, "r2")]
    assert runs == [("r1", 1.0), ("r2", 1.0)]


def test_a_failed_replace_leaves_the_old_forecast(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        replace_forecasts(conn, _forecasts(1.0), RUN)
        broken = _forecasts(3.0)
        broken.loc[3, "sku"] = "A"  # duplicate primary key
        broken.loc[3, "store_id"] = "S1"
        broken.loc[3, "forecast_date"] = date(2026, 10, 1)
        with pytest.raises(psycopg.errors.UniqueViolation):
            replace_forecasts(conn, broken, replace(RUN, run_id="r3"))
        conn.rollback()
        left = conn.execute("select count(*), max(units_forecast) from ml.demand_forecasts")
        assert left.fetchone() == (4, 1.0)
        assert conn.execute("select count(*) from ml.forecast_runs").fetchone() == (1,)
