"""The sandbox history replayed day by day, for the fulfilment figures (fulfilment_figures.py).

The generated scenario's orders arrive day by day at the three WMS sites of
:mod:`sandbox.stock`. Each site restocks every Monday up to ten days of the demand its
nearest-site region sends it on average (the same plan for every policy), and the WMS's
record of a quant is sometimes wrong: with probability ``phantom`` a quant shows a fifth more
than the shelf holds (phantom stock), drawn afresh each day with a fixed seed.

Allocation policies, each on its own copy of the world:

- ``milp``: each day's orders are allocated together by :func:`fulfilment.allocation.allocate`
  against the WMS's record of the morning's stock;
- ``nearest``: every line goes to the nearest site that may keep it (cold chain respected).

Then the orders are picked in arrival order from the real shelves. A unit missing on the
shelf of its warehouse is transferred from the nearest other site that has it (a transfer); a
unit no site has is a backorder. An order is *first-time-right* when it ships from the
warehouses recommended (its first recommended one, and the second of a recommended split)
with no transfer and no backorder.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from fulfilment.allocation import OpenLine, Site, allocate
from fulfilment.decisions import road_km
from fulfilment.rules import Rules, great_circle_km
from sandbox.model import STAGES
from sandbox.scenario import Scenario
from sandbox.stock import CHILLED_SKUS, SITES

BENCH_SITES = [Site(s.code, s.latitude, s.longitude, s.cold_chain) for s in SITES]
Key = tuple[str, str]


@dataclass
class PolicyOutcome:
    """What a policy did over the history."""

    orders: int = 0
    first_time_right: int = 0
    transfers: int = 0
    transferred_units: int = 0
    backordered_units: int = 0
    units: int = 0
    road_km_units: float = 0.0
    transfer_km_units: float = 0.0
    cost: float = 0.0
    solve_seconds: list[float] = field(default_factory=list)


def history(scenario: Scenario, rules: Rules) -> dict[date, list[list[OpenLine]]]:
    """The scenario's orders (cancelled ones left out) by the day they arrived, each as its
    lines (priority: worth the high-value threshold or more; promise: its delivery method's)."""
    days: dict[date, list[list[OpenLine]]] = defaultdict(list)
    for order in sorted(scenario.orders, key=lambda o: o.created_at):
        if order.stage == "cancelled" or order.stage not in STAGES:
            continue
        where = rules.areas.get((order.ship_to_country, order.ship_to_region))
        value = sum(line.net_cents for line in order.lines) / 100
        days[order.created_at.date()].append(
            [
                OpenLine(
                    order.order_id,
                    line.item,
                    line.sku,
                    line.quantity,
                    where,
                    line.sku in CHILLED_SKUS,
                    value >= rules["high_value_threshold"],
                    float(rules.promise_days(order.delivery_method)),
                )
                for line in order.lines
            ]
        )
    return days


def nearest(line: OpenLine, rules: Rules) -> Site:
    """The nearest site that may serve ``line``."""
    eligible = [s for s in BENCH_SITES if s.cold_chain or not line.cold_chain]
    return min(eligible, key=lambda s: road_km(rules, s, line.destination))


def restock_targets(
    days: dict[date, list[list[OpenLine]]], rules: Rules, cover: float
) -> dict[Key, int]:
    """Per site and SKU: ``cover`` days of the demand nearest-site routing sends it."""
    units: dict[Key, float] = defaultdict(float)
    for orders in days.values():
        for lines in orders:
            for line in lines:
                if line.destination is not None:
                    units[nearest(line, rules).code, line.sku] += line.quantity
    return {key: math.ceil(cover * total / len(days)) for key, total in units.items()}


def _site_km(a: str, b: str, rules: Rules) -> float:
    x = next(s for s in BENCH_SITES if s.code == a)
    y = next(s for s in BENCH_SITES if s.code == b)
    return rules.road_km(great_circle_km(x.latitude, x.longitude, y.latitude, y.longitude))


def _pick(
    line: OpenLine,
    site: str,
    quantity: int,
    shelf: dict[Key, int],
    out: PolicyOutcome,
    rules: Rules,
) -> bool:
    """Pick ``quantity`` of ``line`` at ``site``; transfers and backorders counted. True
    when the site's shelf held them all."""
    have = min(quantity, max(shelf.get((site, line.sku), 0), 0))
    shelf[site, line.sku] = shelf.get((site, line.sku), 0) - have
    missing = quantity - have
    out.units += quantity
    km = road_km(rules, next(s for s in BENCH_SITES if s.code == site), line.destination)
    out.road_km_units += quantity * km
    out.cost += quantity * (km * rules["cost_per_unit_km"] + rules.handling.get(site, 0.0))
    if missing == 0:
        return True
    donors = sorted(
        (s for s in BENCH_SITES if s.code != site and (s.cold_chain or not line.cold_chain)),
        key=lambda s: _site_km(site, s.code, rules),
    )
    for donor in donors:
        moved = min(missing, max(shelf.get((donor.code, line.sku), 0), 0))
        if moved:
            shelf[donor.code, line.sku] -= moved
            missing -= moved
            out.transfers += 1
            out.transferred_units += moved
            out.transfer_km_units += moved * _site_km(site, donor.code, rules)
            out.cost += moved * _site_km(site, donor.code, rules) * rules["cost_per_unit_km"]
            out.cost += rules["parcel_cost"]  # the transfer's own shipment
    out.backordered_units += missing
    return False


def replay(
    days: dict[date, list[list[OpenLine]]], rules: Rules, policy: str, *, phantom: float, seed: int
) -> PolicyOutcome:
    """One policy over the whole history on its own copy of the world."""
    targets = restock_targets(days, rules, cover=10)
    shelf = dict(targets)
    out = PolicyOutcome()
    rng = random.Random(seed)
    for day in sorted(days):
        if day.weekday() == 0:
            shelf.update({k: max(shelf.get(k, 0), v) for k, v in targets.items()})
        known = [lines for lines in days[day] if all(ln.destination is not None for ln in lines)]
        record = {
            k: (math.ceil(v * 1.2) + 1 if rng.random() < phantom else v) for k, v in shelf.items()
        }
        plan: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        if policy == "milp":
            flat = [line for lines in known for line in lines]
            result = allocate(flat, BENCH_SITES, {k: max(v, 0) for k, v in record.items()}, rules)
            out.solve_seconds.append(result.seconds)
            for a in result.allocations:
                plan[a.order_id, a.line_id][a.warehouse] = a.quantity
        for lines in known:
            out.orders += 1
            right = True
            parcels: set[str] = set()
            for line in lines:
                chosen = plan.get((line.order_id, line.line_id)) or {}
                if policy == "nearest":
                    chosen = {nearest(line, rules).code: line.quantity}
                parcels |= set(chosen)
                short = line.quantity - sum(chosen.values())
                for site, quantity in chosen.items():
                    right = _pick(line, site, quantity, shelf, out, rules) and right
                if short > 0:
                    right = (
                        _pick(line, nearest(line, rules).code, short, shelf, out, rules) and False
                    )
            out.first_time_right += right
            out.cost += len(parcels) * rules["parcel_cost"]
    return out
