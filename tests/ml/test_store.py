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
    assert tables == [
        ("daily_demand",),
        ("demand_forecasts",),
        ("forecast_accuracy",),
        ("forecast_as_of",),
        ("forecast_drift",),
        ("forecast_history",),
        ("forecast_runs",),
    ]


def test_ensure_schema_adds_the_columns_an_older_table_lacks(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("create schema ml")
        conn.execute(
            "create table ml.demand_forecasts (sku text not null, store_id text not null,"
            " region text not null, forecast_date date not null,"
            " units_forecast double precision not null, model_name text not null,"
            " model_version text not null, run_id text not null,"
            " created_at timestamptz not null, primary key (sku, store_id, forecast_date))"
        )
        ensure_schema(conn)
        columns = {
            name
            for (name,) in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'ml' and table_name = 'demand_forecasts'"
            ).fetchall()
        }
    assert {"units_lower_80", "units_upper_95", "model_alias"} <= columns


def test_intervals_are_written_and_each_data_day_keeps_its_forecast(db_url: str) -> None:
    with_bounds = _forecasts(5.0).assign(
        units_lower_80=3.0, units_upper_80=7.0, units_lower_95=2.0, units_upper_95=9.0
    )
    first = replace(RUN, data_through=date(2026, 9, 30))
    with psycopg.connect(db_url) as conn:
        replace_forecasts(conn, with_bounds, first)
        replace_forecasts(conn, with_bounds.assign(units_forecast=6.0), replace(first, run_id="r2"))
        replace_forecasts(
            conn, with_bounds, replace(first, run_id="r3", data_through=date(2026, 10, 1))
        )
        served = conn.execute(
            "select units_lower_80, units_upper_95, model_alias from ml.demand_forecasts limit 1"
        ).fetchone()
        history = conn.execute(
            "select issued_through, count(*), max(units_forecast), max(run_id)"
            " from ml.forecast_history group by 1 order by 1"
        ).fetchall()
    assert served == (3.0, 9.0, "champion")
    # a later run of the same data day replaces that day's issue; a new day adds one
    assert history == [(date(2026, 9, 30), 4, 6.0, "r2"), (date(2026, 10, 1), 4, 5.0, "r3")]


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
