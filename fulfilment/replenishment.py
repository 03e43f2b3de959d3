"""Replenishment: reorder points and order-up-to levels per warehouse and SKU from the
forecast's quantiles, suggestions, expected stock-out risk, and carrier capacity needs.

Demand per warehouse: each store's forecast goes to the site that would serve its city (the
nearest site that may keep the SKU: cold-chain SKUs only at cold-chain sites). Per day the
forecast gives a mean and upper bounds of its 80 % and 95 % intervals (quantiles 0.90 and
0.975); the day's spread is ``sigma = mean of (upper_80 - mean) / 1.2816 and
(upper_95 - mean) / 1.9600``, days are taken as independent, so over ``n`` days the mean adds
up and ``sigma`` adds up in squares. With ``z`` the standard normal quantile of the
``service_level`` rule, lead time ``L`` and review period ``R`` (seed
``replenishment_lead_times``):

- reorder point ``s = mean(L) + z * sigma(L)``;
- order-up-to ``S = mean(L + R) + z * sigma(L + R)``;
- the inventory position is the available stock (on hand minus reserved) plus what is on
  order (replenishment pickings created and not yet received); at or below ``s`` the
  suggestion is ``S - position``;
- stock-out risk: ``P(demand over L > position) = 1 - Phi((position - mean(L)) / sigma(L))``,
  the chance of running out before a replenishment ordered now arrives.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

from fulfilment.decisions import Site, road_km
from fulfilment.rules import Rules

_Z80, _Z95 = NormalDist().inv_cdf(0.90), NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class DayForecast:
    """One day's forecast of one SKU at one store, with its interval upper bounds."""

    sku: str
    store_city: str
    day: date
    mean: float
    upper_80: float | None
    upper_95: float | None

    @property
    def sigma(self) -> float:
        spreads = [
            (upper - self.mean) / z
            for upper, z in ((self.upper_80, _Z80), (self.upper_95, _Z95))
            if upper is not None
        ]
        return max(0.0, sum(spreads) / len(spreads)) if spreads else math.sqrt(max(self.mean, 0.0))


@dataclass(frozen=True)
class Suggestion:
    """The replenishment decision for one warehouse and SKU."""

    warehouse: str
    sku: str
    on_hand: float
    available: float
    on_order: float
    daily_mean: float
    lead_time_days: int
    review_period_days: int
    reorder_point: float
    order_up_to: float
    suggested_quantity: float
    stockout_risk: float


def serving_site(rules: Rules, sites: list[Site], city: str, cold_chain: bool) -> str | None:
    """The site that serves a city: the nearest one that may keep the goods."""
    where = rules.area_by_city.get(city)
    eligible = [s for s in sites if s.cold_chain or not cold_chain]
    if where is None or not eligible:
        return None
    return min(eligible, key=lambda s: road_km(rules, s, where)).code


def demand_by_site(
    forecasts: list[DayForecast], sites: list[Site], rules: Rules, cold_skus: set[str]
) -> dict[tuple[str, str], list[tuple[date, float, float]]]:
    """(site, SKU) -> per day (day, mean, sigma), the stores' forecasts routed to their site."""
    days: dict[tuple[str, str, date], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for f in forecasts:
        site = serving_site(rules, sites, f.store_city, f.sku in cold_skus)
        if site is None:
            continue
        cell = days[site, f.sku, f.day]
        cell[0] += f.mean
        cell[1] += f.sigma**2
    out: dict[tuple[str, str], list[tuple[date, float, float]]] = defaultdict(list)
    for (site, sku, day), (mean, variance) in sorted(days.items()):
        out[site, sku].append((day, mean, math.sqrt(variance)))
    return out


def _over(days: list[tuple[date, float, float]], n: int) -> tuple[float, float]:
    """Mean and sigma of the demand over the first ``n`` days (the last day repeats when the
    forecast is shorter)."""
    if not days:
        return 0.0, 0.0
    window = [days[min(k, len(days) - 1)] for k in range(n)]
    return sum(d[1] for d in window), math.sqrt(sum(d[2] ** 2 for d in window))


def suggest(
    warehouse: str,
    sku: str,
    days: list[tuple[date, float, float]],
    stock: tuple[float, float, float],
    rules: Rules,
) -> Suggestion:
    """The decision for one site and SKU; ``stock`` is (on hand, available, on order)."""
    lead, review = rules.lead_time(warehouse, sku)
    z = NormalDist().inv_cdf(rules["service_level"])
    mean_l, sigma_l = _over(days, lead)
    mean_lr, sigma_lr = _over(days, lead + review)
    reorder_point = mean_l + z * sigma_l
    order_up_to = max(reorder_point, mean_lr + z * sigma_lr)
    on_hand, available, on_order = stock
    position = available + on_order
    suggested = math.ceil(order_up_to - position) if position <= reorder_point else 0
    if sigma_l > 0:
        risk = 1 - NormalDist(mean_l, sigma_l).cdf(position)
    else:
        risk = 1.0 if mean_l > position else 0.0
    return Suggestion(
        warehouse, sku, on_hand, available, on_order,
        round(mean_lr / max(lead + review, 1), 4), lead, review,
        round(reorder_point, 3), round(order_up_to, 3), float(max(suggested, 0)), round(risk, 4),
    )  # fmt: skip


def capacity_needs(
    demand: dict[tuple[str, str], list[tuple[date, float, float]]],
    days: int,
    units_per_parcel: float,
) -> dict[tuple[str, date], int]:
    """Parcels to reserve per site and day for the next ``days`` days: the 80 % upper bound
    of the units the site ships, in parcels (rounded up)."""
    per_day: dict[tuple[str, date], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (site, _sku), series in demand.items():
        for day, mean, sigma in series[:days]:
            cell = per_day[site, day]
            cell[0] += mean
            cell[1] += sigma**2
    return {
        key: math.ceil((mean + _Z80 * math.sqrt(variance)) / units_per_parcel)
        for key, (mean, variance) in sorted(per_day.items())
    }
