"""Dense panel (zero fill) and the data snapshot hash."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import psycopg
import pytest

from ml.errors import ForecastError
from ml.features import MIN_HISTORY_DAYS, build_panel, load_panel, snapshot_hash
from ml.synthetic import synthetic_demand, write_demand_table

START = date(2026, 1, 1)


def _raw(rows: list[tuple[str, str, str, date, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sku", "store_id", "region", "demand_date", "units"])


def _sparse_history() -> pd.DataFrame:
    """Two series over 30 days; each sells only on some days."""
    rows = []
    for d in range(0, 30, 3):
        rows.append(("A", "S1", "north", START + timedelta(days=d), Decimal("2")))
    rows.append(("B", "S2", "south", START + timedelta(days=29), Decimal("5.50")))
    return _raw(rows)


def test_panel_is_dense_and_fills_missing_days_with_zero() -> None:
    panel = build_panel(_sparse_history())
    assert panel.n_series == 2
    assert panel.n_days == 30
    assert (panel.start, panel.end) == (START, START + timedelta(days=29))
    assert len(panel.frame) == 2 * 30
    assert list(panel.frame.columns) == ["unique_id", "ds", "y"]
    a = panel.frame[panel.frame["unique_id"] == "A|S1"].set_index("ds")["y"]
    assert a[pd.Timestamp(START)] == 2.0
    assert a[pd.Timestamp(START + timedelta(days=1))] == 0.0
    assert a.sum() == 20.0
    b = panel.frame[panel.frame["unique_id"] == "B|S2"]["y"]
    assert b.tolist() == [0.0] * 29 + [5.5]
    # without a country column every store is in the default country
    assert panel.series.to_dict("records") == [
        {"unique_id": "A|S1", "sku": "A", "store_id": "S1", "region": "north", "country": "US"},
        {"unique_id": "B|S2", "sku": "B", "store_id": "S2", "region": "south", "country": "US"},
    ]
    assert panel.source_rows == 11
    assert panel.promo is None
    assert panel.matrix.shape == (2, 30)


def test_duplicate_rows_are_summed() -> None:
    raw = pd.concat(
        [_sparse_history(), _raw([("A", "S1", "north", START, Decimal("1"))])], ignore_index=True
    )
    frame = build_panel(raw).frame
    assert frame[(frame["unique_id"] == "A|S1") & (frame["ds"] == pd.Timestamp(START))][
        "y"
    ].item() == pytest.approx(3.0)


def test_a_series_takes_the_region_of_its_latest_row() -> None:
    raw = pd.concat(
        [_sparse_history(), _raw([("A", "S1", "east", START + timedelta(days=29), 1)])],
        ignore_index=True,
    )
    series = build_panel(raw).series.set_index("unique_id")
    assert series.loc["A|S1", "region"] == "east"


def test_hash_keeps_fields_apart() -> None:
    day = START
    one = _raw([("A\tS1", "x", "north", day, 1)])
    two = _raw([("A", "S1\tx", "north", day, 1)])
    three = _raw([("A\\", "t", "north", day, 1)])
    assert len({snapshot_hash(one), snapshot_hash(two), snapshot_hash(three)}) == 3


def test_hash_is_stable_across_row_order_and_number_format() -> None:
    raw = _sparse_history()
    first = snapshot_hash(raw)
    shuffled = raw.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert snapshot_hash(shuffled) == first
    reformatted = raw.assign(units=[Decimal(f"{u:.3f}") for u in raw["units"]])
    assert snapshot_hash(reformatted) == first
    as_float = raw.assign(units=raw["units"].astype(float))
    assert snapshot_hash(as_float) == first
    assert len(first) == 64


def test_hash_changes_with_the_data() -> None:
    raw = _sparse_history()
    base = snapshot_hash(raw)
    changed_units = raw.copy()
    changed_units.loc[0, "units"] = Decimal("3")
    moved_day = raw.copy()
    moved_day.loc[0, "demand_date"] = START + timedelta(days=1)
    relabelled = raw.copy()
    relabelled.loc[0, "region"] = "east"
    extra = pd.concat([raw, _raw([("C", "S1", "north", START, Decimal("1"))])])
    hashes = {snapshot_hash(x) for x in (changed_units, moved_day, relabelled, extra)}
    assert base not in hashes
    assert len(hashes) == 4


def test_too_little_history_is_refused() -> None:
    rows = [("A", "S1", "north", START + timedelta(days=d), 1) for d in range(MIN_HISTORY_DAYS - 1)]
    with pytest.raises(ForecastError, match=r"fct_daily_demand covers 27 day"):
        build_panel(_raw(rows))
    with pytest.raises(ForecastError, match="is empty"):
        build_panel(_raw([]))


def test_load_panel_from_the_warehouse(db_url: str) -> None:
    demand = synthetic_demand(n_series=3, n_days=35, seed=5)
    with psycopg.connect(db_url, autocommit=True) as conn:
        write_demand_table(conn, demand)
        panel = load_panel(conn)
    assert panel.n_series == 3
    assert panel.n_days == 35
    assert len(panel.frame) == 3 * 35
    assert panel.frame["y"].sum() == pytest.approx(demand["units"].sum())
    assert panel.snapshot_hash == snapshot_hash(demand)


def test_missing_table_and_bad_rows_name_the_table(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        with pytest.raises(ForecastError, match=r"marts\.fct_daily_demand does not exist"):
            load_panel(conn)
        conn.execute("create schema marts")
        conn.execute("create table marts.fct_daily_demand (sku text, store_id text)")
        with pytest.raises(ForecastError, match=r"marts\.fct_daily_demand lacks a column"):
            load_panel(conn)
        conn.execute("drop table marts.fct_daily_demand")
        write_demand_table(conn, synthetic_demand(n_series=2, n_days=30))
        conn.execute("alter table marts.fct_daily_demand alter demand_date drop not null")
        conn.execute("insert into marts.fct_daily_demand values ('X', 'S', 'north', null, 1)")
        with pytest.raises(ForecastError, match=r"1 row\(s\) with an empty"):
            load_panel(conn)


def test_country_and_promotion_columns_are_read_when_present() -> None:
    raw = _sparse_history().assign(country="DE", on_promotion=False)
    raw.loc[1, "on_promotion"] = True  # A|S1 on day 3
    panel = build_panel(raw)
    assert set(panel.series["country"]) == {"DE"}
    assert panel.promo is not None and panel.promo.shape == (2, 30)
    assert panel.promo[0].tolist() == [0.0] * 3 + [1.0] + [0.0] * 26
    assert panel.promo[1].sum() == 0
    # the optional columns are part of the data the snapshot names
    assert snapshot_hash(raw) != snapshot_hash(_sparse_history())
    flipped = raw.copy()
    flipped.loc[1, "on_promotion"] = False
    assert snapshot_hash(flipped) != snapshot_hash(raw)


def test_load_panel_reads_the_optional_columns(db_url: str) -> None:
    demand = synthetic_demand(n_series=4, n_days=35, seed=5)
    with psycopg.connect(db_url, autocommit=True) as conn:
        write_demand_table(conn, demand)
        panel = load_panel(conn)
    assert set(panel.series["country"]) == {"US", "DE"}
    assert panel.promo is not None
    assert panel.promo.sum() == demand["on_promotion"].sum()
