"""Why the allocation chose what it chose: a reason code and a sentence per allocation, and
the manual-review rows for what it could not serve.

Reason codes (fulfilment/README.md):

- ``nearest_in_stock``: the nearest site that may serve the line, and it holds the units;
- ``nearest_short``: the nearest eligible site holds fewer units of the SKU than the open
  lines ask of it, so another site serves (or shares) the line;
- ``one_parcel``: not the nearest site, but it keeps the whole order in one parcel;
- ``lower_cost``: not the nearest site: handling and lateness costs make another cheaper;
- ``split``: suffixed when the order ships from more than one site.

A ``cold chain`` note names the sites a cold-chain line was limited to; ``priority`` notes
that a priority or high-value order was served first from contested stock.

Review kinds: ``unknown_ship_to_area``, ``no_cold_chain_site`` (no cold-chain site holds the
SKU: the cold-chain rule and the stock conflict), ``short_stock`` (the eligible sites hold too
few units), ``late_against_promise`` (served, but no eligible site arrives by the promise).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from fulfilment.decisions import Allocation, OpenLine, Result, Review, Site, road_km, unit_cost
from fulfilment.rules import Rules

#: The program's columns: x by (line index, site) and u by line index.
Columns = tuple[dict[tuple[int, str], int], dict[int, int]]


def _reason(
    line: OpenLine,
    code: str,
    nearest: Site,
    sites_used: int,
    demand: dict[tuple[str, str], int],
    stock: dict[tuple[str, str], int],
    km: float,
) -> tuple[str, str]:
    held = stock.get((nearest.code, line.sku), 0)
    if code == nearest.code:
        reason_code, text = (
            "nearest_in_stock",
            f"{code}: nearest eligible site ({km:.0f} road km), holds the units",
        )
    elif held < demand[nearest.code, line.sku]:
        reason_code = "nearest_short"
        text = (
            f"{code} ({km:.0f} road km): nearest eligible site {nearest.code} holds {held}"
            f" {line.sku} for {demand[nearest.code, line.sku]} units the open lines ask of it"
        )
    elif sites_used == 1:
        reason_code, text = (
            "one_parcel",
            f"{code} ({km:.0f} road km): keeps the order in one parcel",
        )
    else:
        reason_code, text = (
            "lower_cost",
            f"{code} ({km:.0f} road km): lowest handling, transport and lateness cost",
        )
    if sites_used > 1:
        reason_code += "+split"
        text += f"; the order is split over {sites_used} sites"
    if line.cold_chain:
        text += "; cold chain: cold-chain sites only"
    if line.priority and held < demand[nearest.code, line.sku]:
        text += "; priority order served first from contested stock"
    return reason_code, text


def _review_unserved(
    result: Result, line: OpenLine, short: int, sites: list[Site], stock: dict[tuple[str, str], int]
) -> None:
    eligible = [s for s in sites if s.cold_chain or not line.cold_chain]
    if line.cold_chain and not any(stock.get((s.code, line.sku), 0) > 0 for s in eligible):
        kind = "no_cold_chain_site"
        names = ", ".join(s.code for s in eligible)
        detail = f"cold-chain line: no cold-chain site ({names}) holds {line.sku}"
    else:
        kind = "short_stock"
        held = ", ".join(f"{s.code} {stock.get((s.code, line.sku), 0)}" for s in eligible)
        detail = f"{short} of {line.quantity} {line.sku} unserved: the eligible sites hold {held}"
    result.reviews.append(Review(line.order_id, line.line_id, line.sku, short, kind, detail))


def explain(
    result: Result,
    lines: list[OpenLine],
    sites: list[Site],
    stock: dict[tuple[str, str], int],
    rules: Rules,
    columns: Columns,
    values: np.ndarray,
) -> None:
    """Fill ``result`` with the allocations the solution ``values`` holds, each with its
    reason, and the manual-review rows."""
    x, u = columns
    demand: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        for site in sites:
            if site.cold_chain or not line.cold_chain:
                demand[site.code, line.sku] += line.quantity
    used: dict[str, set[str]] = defaultdict(set)
    for (i, code), column in x.items():
        if values[column] > 0.5:
            used[lines[i].order_id].add(code)
    for i, line in enumerate(lines):
        eligible = [s for s in sites if s.cold_chain or not line.cold_chain]
        nearest = min(eligible, key=lambda s: road_km(rules, s, line.destination))
        for site in eligible:
            column = x.get((i, site.code))
            if column is None or values[column] < 0.5:
                continue
            km, cost = unit_cost(rules, site, line)
            code, text = _reason(
                line, site.code, nearest, len(used[line.order_id]), demand, stock, km
            )
            result.allocations.append(
                Allocation(
                    line.order_id,
                    line.line_id,
                    line.sku,
                    site.code,
                    round(values[column]),
                    round(km, 1),
                    round(cost, 4),
                    code,
                    text,
                )
            )
            transit = 1 + math.ceil(km / rules["road_km_per_day"])
            if transit > line.days_to_promise and all(
                1 + math.ceil(road_km(rules, s, line.destination) / rules["road_km_per_day"])
                > line.days_to_promise
                for s in eligible
            ):
                result.reviews.append(
                    Review(
                        line.order_id,
                        line.line_id,
                        line.sku,
                        0,
                        "late_against_promise",
                        f"no eligible site arrives by the promise"
                        f" ({line.days_to_promise:.1f} days left); {site.code} takes {transit}",
                    )
                )
        short = round(values[u[i]])
        if short > 0:
            _review_unserved(result, line, short, sites, stock)
