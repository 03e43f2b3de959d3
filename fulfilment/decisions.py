"""What the allocation decides about: sites, open lines, allocations, manual-review rows,
and the cost of serving a unit of a line from a site (the one formula the solver and the
reasons share)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from fulfilment.rules import Rules, great_circle_km


@dataclass(frozen=True)
class Site:
    """A warehouse the allocation may ship from."""

    code: str
    latitude: float
    longitude: float
    cold_chain: bool


@dataclass(frozen=True)
class OpenLine:
    """An open order line: what, how many, where to, by when (days from now), and its tags."""

    order_id: str
    line_id: str
    sku: str
    quantity: int
    destination: tuple[float, float] | None
    cold_chain: bool
    priority: bool
    days_to_promise: float


@dataclass(frozen=True)
class Allocation:
    """Units of a line from one warehouse, with why."""

    order_id: str
    line_id: str
    sku: str
    warehouse: str
    quantity: int
    road_km: float
    unit_cost: float
    reason_code: str
    reason: str


@dataclass(frozen=True)
class Review:
    """A line (or part of one) the allocation cannot decide: a manual-review row."""

    order_id: str
    line_id: str
    sku: str
    quantity_short: int
    kind: str
    detail: str


@dataclass
class Result:
    """What one solve decided, and how the solve went."""

    allocations: list[Allocation] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    status: str = "empty"
    objective: float = 0.0
    seconds: float = 0.0
    lines: int = 0

    def first_choice(self) -> dict[str, str]:
        """Each order's first recommended warehouse: the one serving most of its units."""
        units: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for a in self.allocations:
            units[a.order_id][a.warehouse] += a.quantity
        return {o: max(sorted(w), key=lambda c: w[c]) for o, w in units.items()}


def road_km(rules: Rules, site: Site, destination: tuple[float, float]) -> float:
    """Road kilometres from ``site`` to ``destination`` (great circle x detour factor)."""
    return rules.road_km(great_circle_km(site.latitude, site.longitude, *destination))


def unit_cost(rules: Rules, site: Site, line: OpenLine) -> tuple[float, float]:
    """(road km, cost of one unit of ``line`` from ``site``): transport, handling, lateness."""
    assert line.destination is not None
    km = road_km(rules, site, line.destination)
    transit_days = 1 + math.ceil(km / rules["road_km_per_day"])
    late_days = max(0.0, transit_days - line.days_to_promise)
    cost = (
        km * rules["cost_per_unit_km"]
        + rules.handling.get(site.code, 0.0)
        + late_days * rules["late_cost_per_unit_day"]
    )
    return km, cost
