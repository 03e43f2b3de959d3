"""fct_daily_demand (/daily_demand): units per SKU, store, region and day."""

from __future__ import annotations

from dbt_builds import Build


def test_daily_demand_leaves_out_cancelled_orders(main_build: Build) -> None:
    rows = main_build.query(
        "select sku, store_id, region, demand_date::text, units, orders"
        " from marts.fct_daily_demand order by sku, store_id"
    )
    # 1000003 and 1000004 are cancelled; 1000001, 1000007 and 1000008 share S01's SKU-001
    assert [(s, st, r, d, float(u), o) for s, st, r, d, u, o in rows] == [
        ("SKU-001", "S01", "NORTH", "2026-10-01", 4.0, 3),
        ("SKU-002", "S01", "NORTH", "2026-10-01", 1.0, 1),
        ("SKU-003", "S02", "SOUTH", "2026-10-01", 5.0, 1),
        ("SKU-004", "S04", "WEST", "2026-10-01", 3.0, 1),
        ("SKU-005", "S05", "NORTH", "2026-10-01", 1.0, 1),
        ("SKU-006", "S06", "WEST", "2026-09-14", 2.0, 1),
    ]
