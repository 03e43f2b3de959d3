"""Replenishment from the forecast's quantiles, and carbon per shipment and order, as their
formulas (fulfilment/README.md) say."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from fulfilment.carbon import Shipment, consolidation, hub_kg, order_emissions, shipment_emissions
from fulfilment.decisions import Site
from fulfilment.replenishment import DayForecast, capacity_needs, demand_by_site, suggest
from fulfilment.rules import great_circle_km, load_rules

RULES = load_rules()
KASSEL = Site("WH1", 51.3127, 9.4797, True)
DIJON = Site("WH2", 47.3220, 5.0415, False)
DAY = date(2026, 12, 7)


def days(mean: float, sigma: float, n: int = 14) -> list[tuple[date, float, float]]:
    return [(DAY + timedelta(days=k), mean, sigma) for k in range(n)]


def test_reorder_point_and_order_up_to_follow_the_quantiles() -> None:
    # WH1 default: lead time 3 days, review 1 day; z of the 0.95 service level is 1.645
    low = suggest("WH1", "SKU-001", days(10, 2), (100.0, 100.0, 0.0), RULES)
    assert low.reorder_point == pytest.approx(30 + 1.6449 * 2 * 3**0.5, abs=1e-2)
    assert low.order_up_to == pytest.approx(40 + 1.6449 * 2 * 2, abs=1e-2)
    assert low.suggested_quantity == 0 and low.stockout_risk < 1e-6
    short = suggest("WH1", "SKU-001", days(10, 2), (25.0, 20.0, 0.0), RULES)
    assert short.suggested_quantity == pytest.approx(47 - 20, abs=1)  # up to S from 20
    assert short.stockout_risk > 0.99
    ordered = suggest("WH1", "SKU-001", days(10, 2), (25.0, 20.0, 30.0), RULES)
    assert ordered.suggested_quantity == 0  # what is on order counts
    assert suggest("WH1", "SKU-006", days(10, 2), (0, 0, 0), RULES).lead_time_days == 6


def test_the_service_level_is_a_rule() -> None:
    stricter = dataclasses.replace(RULES, values=RULES.values | {"service_level": 0.99})
    base = suggest("WH1", "SKU-001", days(10, 2), (0, 0, 0), RULES)
    assert (
        suggest("WH1", "SKU-001", days(10, 2), (0, 0, 0), stricter).reorder_point
        > base.reorder_point
    )


def test_store_demand_goes_to_the_site_serving_it_and_capacity_in_parcels() -> None:
    forecasts = [
        DayForecast("SKU-001", "Paris", DAY, 4, 6.5632, 7.9199),  # sigma 2 from both bounds
        DayForecast("SKU-003", "Paris", DAY, 4, 6.5632, 7.9199),  # chilled: the cold-chain site
    ]
    demand = demand_by_site(forecasts, [KASSEL, DIJON], RULES, {"SKU-003"})
    assert set(demand) == {("WH2", "SKU-001"), ("WH1", "SKU-003")}
    assert demand["WH2", "SKU-001"][0][2] == pytest.approx(2, abs=1e-3)
    parcels = capacity_needs(demand, 3, 2.0)
    assert parcels == {("WH1", DAY): 4, ("WH2", DAY): 4}  # ceil((4 + 1.2816 * 2) / 2)


def test_emissions_per_shipment_follow_weight_distance_and_factors() -> None:
    shipment = Shipment(
        "s1", "o1", "WH2", "UPS", "FR", "IDF", 2.0, datetime(2026, 12, 1, tzinfo=UTC)
    )
    row = shipment_emissions(shipment, {"WH2": DIJON}, RULES)
    assert row is not None
    km = great_circle_km(DIJON.latitude, DIJON.longitude, *RULES.areas["FR", "IDF"]) * 1.2
    expected = 0.002 * (km * 310 + 20 * 680) / 1000 + 0.040
    assert row["road_km"] == pytest.approx(km, abs=0.1)
    assert row["wtw_kg_co2e"] == pytest.approx(expected, rel=1e-3)
    assert row["ttw_kg_co2e"] < row["wtw_kg_co2e"] and row["factor_version"] == "2026.1"
    assert (
        shipment_emissions(dataclasses.replace(shipment, region="XX"), {"WH2": DIJON}, RULES)
        is None
    )
    (order,) = order_emissions([row], RULES)
    assert order["low_carbon_saving_kg_co2e"] == pytest.approx(
        0.002 * 20 * (680 - 160) / 1000, rel=1e-3
    )


def test_consolidation_groups_one_lane_within_the_window() -> None:
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    ships = [
        Shipment("s1", "o1", "WH2", "UPS", "FR", "IDF", 1.0, at),
        Shipment("s2", "o2", "WH2", "DHL", "FR", "IDF", 1.0, at + timedelta(hours=5)),
        Shipment("s3", "o3", "WH2", "UPS", "FR", "IDF", 1.0, at + timedelta(hours=30)),
        Shipment("s4", "o4", "WH1", "UPS", "FR", "IDF", 1.0, at),
    ]
    sites = {"WH1": KASSEL, "WH2": DIJON}
    rows = [r for s in ships if (r := shipment_emissions(s, sites, RULES))]
    (group,) = consolidation(ships, rows, RULES)
    assert group["order_ids"] == ["o1", "o2"] and group["warehouse"] == "WH2"
    assert group["saving_kg_co2e"] == pytest.approx(hub_kg(RULES))
