"""The daily partitions: a backfill over past days, as ``orderhub forecast backfill`` runs it.

On a real PostgreSQL with a demand mart and a champion trained in a real MLflow store, the
job ``demand_forecast_daily`` runs three past days on an ephemeral Dagster instance: three
partitions of each asset are materialized, each day's forecast starts the day after it and
reads no demand after it (changing later demand and re-running a day gives the same
forecast), and re-running one day replaces that day's rows and nothing else.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest
from dagster import DagsterInstance

from ml.as_of import forecast_as_of
from ml.errors import ForecastError
from ml.forecast import run_forecast
from ml.models import ModelConfig
from ml.pipeline import EngineConfig
from ml.synthetic import synthetic_demand, write_demand_table
from orderhub.settings import Settings, get_settings

SERIES, DAYS = 6, 90
END = date(2026, 9, 30)
DAYS_BACK = [END - timedelta(days=n) for n in (3, 2, 1)]
SMALL = EngineConfig(gbm=ModelConfig(n_estimators=40))


@pytest.fixture
def env_settings(settings: Settings) -> Iterator[Settings]:
    """``settings`` as the process's settings (what the Dagster resources read)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(("ORDERHUB_", "DAGSTER_"))}
    for name in saved:
        del os.environ[name]
    os.environ["ORDERHUB_HOME"] = str(settings.home_dir)
    os.environ["ORDERHUB_DATABASE_URL"] = str(settings.database_url)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        for name in [k for k in os.environ if k.startswith(("ORDERHUB_", "DAGSTER_"))]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()


def _rows(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or None).fetchall()


def _forecast(url: str, day: date) -> dict[tuple, tuple]:
    rows = _rows(
        url,
        "select sku, store_id, forecast_date, units_forecast, units_upper_95, run_id"
        " from ml.forecast_as_of where as_of_date = %s",
        day,
    )
    return {row[:3]: row[3:] for row in rows}


def test_a_backfill_of_three_days_forecasts_each_from_its_own_past(
    env_settings: Settings,
) -> None:
    url = str(env_settings.database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        write_demand_table(conn, synthetic_demand(n_series=SERIES, n_days=DAYS, end=END))
    with pytest.raises(ForecastError, match="no champion model yet"):
        forecast_as_of(url, env_settings, DAYS_BACK[0])
    run_forecast(url, env_settings, config=SMALL)  # the champion the full flow keeps

    forecast_cli = importlib.import_module("orderhub.cli.forecast")
    keys = forecast_cli.partition_keys(DAYS_BACK[0], DAYS_BACK[-1])
    assert keys == [day.isoformat() for day in DAYS_BACK]
    daily = importlib.import_module("orchestration.daily_assets")
    with DagsterInstance.ephemeral() as instance:
        assert forecast_cli.run_days(env_settings, keys, instance) == {k: [] for k in keys}
        for key in daily.DAILY_KEYS:
            assert instance.get_materialized_partitions(key) == set(keys), key

        horizon = env_settings.forecast_horizon_days
        summary = _rows(
            url,
            "select as_of_date, max(data_through), min(forecast_date), max(forecast_date),"
            " count(*), count(distinct run_id) from ml.forecast_as_of"
            " group by as_of_date order by as_of_date",
        )
        assert summary == [
            (day, day, day + timedelta(days=1), day + timedelta(days=horizon), SERIES * horizon, 1)
            for day in DAYS_BACK
        ]
        snapshots = _rows(
            url,
            "select demand_date, count(*), sum(units) from ml.daily_demand"
            " group by demand_date order by demand_date",
        )
        published = _rows(
            url,
            "select demand_date, count(*), sum(units) from marts.fct_daily_demand"
            " where demand_date = any(%s) group by demand_date order by demand_date",
            DAYS_BACK,
        )
        assert snapshots == published and len(snapshots) == 3
        before = {day: _forecast(url, day) for day in DAYS_BACK}
        assert before[DAYS_BACK[0]] != before[DAYS_BACK[1]]

        # Demand after the first day changes (a late correction); re-running that day gives
        # the same forecast (nothing after it is read) under a new run, the other days and
        # their demand snapshots stay as they were.
        with psycopg.connect(url) as conn:
            conn.execute(
                "update marts.fct_daily_demand set units = units * 10 where demand_date > %s",
                (DAYS_BACK[0],),
            )
        assert forecast_cli.run_days(env_settings, keys[:1], instance) == {keys[0]: []}
    again = _forecast(url, DAYS_BACK[0])
    assert again.keys() == before[DAYS_BACK[0]].keys()
    for key, (units, upper, run_id) in again.items():
        old_units, old_upper, old_run = before[DAYS_BACK[0]][key]
        assert (units, upper) == pytest.approx((old_units, old_upper))
        assert run_id != old_run
    for day in DAYS_BACK[1:]:
        assert _forecast(url, day) == before[day]
    assert (
        _rows(
            url,
            "select demand_date, count(*), sum(units) from ml.daily_demand"
            " group by demand_date order by demand_date",
        )
        == snapshots
    )


def test_a_backfill_outside_the_partitions_is_refused() -> None:
    forecast_cli = importlib.import_module("orderhub.cli.forecast")
    with pytest.raises(ValueError, match="outside the daily partitions"):
        forecast_cli.partition_keys(date(2023, 12, 30), date(2024, 1, 2))
    future = date.today() + timedelta(days=2)
    with pytest.raises(ValueError, match="outside the daily partitions"):
        forecast_cli.partition_keys(future, future)
    with pytest.raises(ValueError, match="is after"):
        forecast_cli.partition_keys(date(2024, 2, 2), date(2024, 2, 1))
