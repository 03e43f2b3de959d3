"""Synthetic daily demand shaped like ``marts.fct_daily_demand``, for tests and benchmarks.

Each series (SKU x store) has its own level, a weekly pattern, a gentle trend and
Poisson noise; some weeks it is on promotion (``on_promotion``, demand x ``promo_uplift``).
Stores are in the US or Germany (``country``), by store number. Days that sell nothing are
left out, as they are in the real mart.
The real table is built by dbt; :func:`write_demand_table` only stands in for it
where there is no dbt run (tests, ``bench/forecast.py``).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import psycopg

#: Columns of the demand mart, in order.
DEMAND_COLUMNS = ("sku", "store_id", "region", "demand_date", "units", "country", "on_promotion")
REGIONS = ("north", "south", "east", "west")
COUNTRIES = ("US", "DE")


def synthetic_demand(
    n_series: int = 12,
    n_days: int = 120,
    *,
    end: date = date(2026, 9, 30),
    seed: int = 0,
    stores: int = 4,
    weekly_amplitude: float = 0.6,
    trend_per_week: float = 0.01,
    promo_share: float = 0.1,
    promo_uplift: float = 1.6,
) -> pd.DataFrame:
    """Rows ``sku, store_id, region, demand_date, units, country, on_promotion`` with zero
    days left out.

    ``weekly_amplitude`` is the relative swing of the weekly pattern;
    ``trend_per_week`` the relative growth of the level per week (random sign);
    ``promo_share`` of the series' weeks are promotions that multiply demand by
    ``promo_uplift``.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range(end=pd.Timestamp(end), periods=n_days, freq="D")
    dow = days.dayofweek.to_numpy()
    t = np.arange(n_days) / 7.0
    level = rng.lognormal(mean=2.0, sigma=0.8, size=(n_series, 1))
    phase = rng.integers(0, 7, size=(n_series, 1))
    weekly = 1.0 + weekly_amplitude * np.cos(2 * np.pi * ((dow[None, :] + phase) % 7) / 7)
    slope = trend_per_week * rng.choice([-1.0, 1.0], size=(n_series, 1))
    trend = np.clip(1.0 + slope * t[None, :], 0.2, None)
    weeks = np.arange(n_days) // 7
    promo_weeks = rng.random((n_series, int(weeks.max()) + 1)) < promo_share
    promo = promo_weeks[:, weeks]
    units = rng.poisson(level * weekly * trend * np.where(promo, promo_uplift, 1.0)).astype(float)

    store_idx = np.arange(n_series) % stores
    sku_idx = np.arange(n_series) // stores
    rows = np.argwhere(units > 0)
    series, day = rows[:, 0], rows[:, 1]
    return pd.DataFrame(
        {
            "sku": [f"SKU-{sku_idx[i]:05d}" for i in series],
            "store_id": [f"ST-{store_idx[i]:03d}" for i in series],
            "region": [REGIONS[store_idx[i] % len(REGIONS)] for i in series],
            "demand_date": days[day].date,
            "units": units[series, day],
            "country": [COUNTRIES[store_idx[i] % 2] for i in series],
            "on_promotion": promo[series, day],
        },
        columns=list(DEMAND_COLUMNS),
    )


def write_demand_table(conn: psycopg.Connection, demand: pd.DataFrame) -> None:
    """(Re)create ``marts.fct_daily_demand`` holding ``demand`` (the dbt model's shape; the
    optional ``country`` and ``on_promotion`` columns when ``demand`` has them)."""
    optional = [c for c in ("country", "on_promotion") if c in demand.columns]
    types = {"country": "text", "on_promotion": "boolean"}
    columns = ["sku", "store_id", "region", "demand_date", "units", *optional]
    with conn.cursor() as cur:
        cur.execute("create schema if not exists marts")
        cur.execute("drop table if exists marts.fct_daily_demand")
        cur.execute(
            "create table marts.fct_daily_demand ("
            " sku text not null, store_id text not null, region text not null,"
            " demand_date date not null, units numeric not null"
            + "".join(f", {c} {types[c]}" for c in optional)
            + ")"
        )
        with cur.copy(f"copy marts.fct_daily_demand ({', '.join(columns)}) from stdin") as copy:
            for row in demand[columns].itertuples(index=False, name=None):
                sku, store, region, day, units, *extra = row
                copy.write_row((sku, store, region, day, float(units), *extra))
