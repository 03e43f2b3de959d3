"""The fulfilment rules as data: the seeds the decisions read, typed, and the distances.

Every number a decision uses comes from a seed of ``dbt_project/seeds`` (read as dbt loads it,
:func:`orderhub.seeds.read_seed`): ``fulfilment_rules`` (costs, detour factor, solver limits),
``ship_to_areas`` (coordinates), ``warehouse_costs``, ``replenishment_lead_times``,
``product_logistics`` (unit weights), ``emission_factors`` (versioned), and two seeds of the
canonical model: ``order_tag_rules`` (which product categories need the cold chain, which
statuses are still open) and ``delivery_promises``.

Distance: the great-circle (haversine) distance between two points on a sphere of radius
6,371.0088 km (the mean Earth radius), times the ``detour_factor`` rule when no carrier legs
are known.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from orderhub.seeds import read_seed

EARTH_RADIUS_KM = 6371.0088
FULFILMENT_SEEDS = (
    "fulfilment_rules",
    "ship_to_areas",
    "warehouse_costs",
    "replenishment_lead_times",
    "product_logistics",
    "emission_factors",
)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The haversine distance in km between two WGS 84 points (degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Rules:
    """The fulfilment rules: the ``fulfilment_rules`` seed by name, and the other seeds."""

    values: dict[str, float]
    areas: dict[tuple[str, str], tuple[float, float]]
    area_by_city: dict[str, tuple[float, float]]
    handling: dict[str, float]
    lead_times: dict[tuple[str, str], tuple[int, int]]
    unit_weight_kg: dict[str, float]
    factors: dict[str, dict[str, Any]]
    factor_version: str
    cold_chain_categories: frozenset[str]
    open_statuses: tuple[str, ...]
    promised_days: dict[str, int]
    version: str

    def __getitem__(self, rule: str) -> float:
        return self.values[rule]

    def road_km(self, great_circle: float) -> float:
        """Road kilometres for a great-circle distance (the documented detour factor)."""
        return great_circle * self["detour_factor"]

    def lead_time(self, warehouse: str, sku: str) -> tuple[int, int]:
        """(lead time, review period) in days for ``sku`` at ``warehouse``."""
        return (
            self.lead_times.get((warehouse, sku)) or self.lead_times.get((warehouse, "*")) or (7, 1)
        )

    def promise_days(self, delivery_method: str | None) -> int:
        """Days from an order's creation to its promised delivery."""
        return self.promised_days.get(delivery_method or "default", self.promised_days["default"])


def _tag_rule_value(rows: list[dict[str, Any]], rule_id: str) -> tuple[str, ...]:
    for row in rows:
        if row["rule_id"] == rule_id:
            return tuple(str(row["value"]).split("|"))
    raise KeyError(f"order_tag_rules has no rule {rule_id!r}")


@cache
def load_rules() -> Rules:
    """The rules as the seeds hold them now (read once per process)."""
    seeds = {name: read_seed(name) for name in FULFILMENT_SEEDS}
    tags = read_seed("order_tag_rules")
    factors = seeds["emission_factors"]
    version = max(str(row["factor_version"]) for row in factors)
    digest = hashlib.sha256(json.dumps(seeds, sort_keys=True, default=str).encode()).hexdigest()
    return Rules(
        values={row["rule"]: float(row["value"]) for row in seeds["fulfilment_rules"]},
        areas={
            (r["country"], r["region"]): (r["latitude"], r["longitude"])
            for r in seeds["ship_to_areas"]
        },
        area_by_city={r["city"]: (r["latitude"], r["longitude"]) for r in seeds["ship_to_areas"]},
        handling={r["warehouse"]: r["handling_cost_per_unit"] for r in seeds["warehouse_costs"]},
        lead_times={
            (r["warehouse"], r["sku"]): (r["lead_time_days"], r["review_period_days"])
            for r in seeds["replenishment_lead_times"]
        },
        unit_weight_kg={r["sku"]: r["unit_weight_kg"] for r in seeds["product_logistics"]},
        factors={r["vehicle"]: r for r in factors if r["factor_version"] == version},
        factor_version=version,
        cold_chain_categories=frozenset(_tag_rule_value(tags, "cold_chain_products")),
        open_statuses=_tag_rule_value(tags, "modifiable_not_yet_picked"),
        promised_days={
            r["delivery_method"]: r["promised_days"] for r in read_seed("delivery_promises")
        },
        version=digest[:16],
    )
