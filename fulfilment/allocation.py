"""Allocation: which warehouse (or which warehouses, split) serves each open order line.

One mixed-integer program over every open line at once, solved by HiGHS (``highspy``):

- ``x[l, w]`` integer units of line ``l`` from warehouse ``w`` - only where ``w`` may serve
  it (a cold-chain line only from a cold-chain site);
- ``u[l]`` units of line ``l`` nobody serves;
- ``y[o, w]`` binary: order ``o`` ships a parcel from ``w``.

Minimise the transport cost (road km x ``cost_per_unit_km``), the site's handling cost, the
cost of every day a unit arrives after the promise, ``parcel_cost`` for every parcel (so a
split costs one more parcel), and ``unfilled_cost_per_unit`` for every unserved unit,
``priority_weight`` times more for a priority or high-value order (they get scarce stock
first); subject to ``x + u = quantity`` per line, the available stock per site and SKU, and
``x[l, w] <= quantity * y[o, w]``. Every number is a rule of the seeds (:mod:`.rules`).

Beside each allocation: a reason code and a sentence. Lines no site can serve (short stock,
no cold-chain site holding the SKU, an unknown ship-to area) become manual-review rows.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_matrix

from fulfilment.decisions import Allocation, OpenLine, Result, Review, Site, unit_cost
from fulfilment.reasons import explain
from fulfilment.rules import Rules


@dataclass
class _Model:
    """The program's columns and what each stands for."""

    cost: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    x: dict[tuple[int, str], int] = field(default_factory=dict)
    u: dict[int, int] = field(default_factory=dict)
    y: dict[tuple[str, str], int] = field(default_factory=dict)

    def column(self, cost: float, upper: float, integer: bool) -> int:
        self.cost.append(cost)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.cost) - 1


def _eligible(line: OpenLine, sites: list[Site]) -> list[Site]:
    return [s for s in sites if s.cold_chain or not line.cold_chain]


def _build(
    lines: list[OpenLine], sites: list[Site], stock: dict[tuple[str, str], int], rules: Rules
) -> tuple[_Model, list[tuple[int, int, float]], list[float], list[float]]:
    model, entries, lower, upper = _Model(), [], [], []
    for i, line in enumerate(lines):
        weight = rules["priority_weight"] if line.priority else 1.0
        model.u[i] = model.column(rules["unfilled_cost_per_unit"] * weight, line.quantity, False)
        for site in _eligible(line, sites):
            if stock.get((site.code, line.sku), 0) <= 0:
                continue
            model.x[i, site.code] = model.column(
                unit_cost(rules, site, line)[1], line.quantity, True
            )
            key = (line.order_id, site.code)
            if key not in model.y:
                model.y[key] = model.column(rules["parcel_cost"], 1, True)
    row = 0
    for i, line in enumerate(lines):  # x + u = quantity
        entries.append((row, model.u[i], 1.0))
        entries += [(row, model.x[i, s.code], 1.0) for s in sites if (i, s.code) in model.x]
        lower.append(line.quantity)
        upper.append(line.quantity)
        row += 1
    by_stock: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (i, code), column in model.x.items():
        by_stock[code, lines[i].sku].append(column)
    for key, columns in by_stock.items():  # stock per site and SKU
        entries += [(row, column, 1.0) for column in columns]
        lower.append(-highspy.kHighsInf)
        upper.append(stock[key])
        row += 1
    for (i, code), column in model.x.items():  # x <= quantity * y
        entries += [(row, column, 1.0), (row, model.y[lines[i].order_id, code], -lines[i].quantity)]
        lower.append(-highspy.kHighsInf)
        upper.append(0.0)
        row += 1
    return model, entries, lower, upper


def _solve(
    model: _Model,
    entries: list[tuple[int, int, float]],
    lower: list[float],
    upper: list[float],
    rules: Rules,
) -> tuple[np.ndarray, str, float]:
    rows, cols, vals = zip(*entries, strict=True) if entries else ((), (), ())
    matrix = coo_matrix((vals, (rows, cols)), shape=(len(lower), len(model.cost))).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(model.cost), len(lower)
    lp.col_cost_ = np.array(model.cost)
    lp.col_lower_ = np.zeros(len(model.cost))
    lp.col_upper_ = np.array(model.upper, dtype=float)
    lp.row_lower_, lp.row_upper_ = np.array(lower, dtype=float), np.array(upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in model.integer
    ]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", rules["mip_relative_gap"])
    highs.setOptionValue("time_limit", rules["time_limit_seconds"])
    highs.setOptionValue("random_seed", 7)
    highs.passModel(lp)
    highs.run()
    status = highs.modelStatusToString(highs.getModelStatus())
    values = np.round(np.array(highs.getSolution().col_value), 6)
    return values, status, float(highs.getInfo().objective_function_value)


def allocate(
    lines: list[OpenLine], sites: list[Site], stock: dict[tuple[str, str], int], rules: Rules
) -> Result:
    """Allocate every open line at once (one HiGHS solve); reasons and manual-review rows."""
    started = time.perf_counter()
    result = Result(lines=len(lines))
    known = [line for line in lines if line.destination is not None]
    for line in lines:
        if line.destination is None:
            result.reviews.append(
                Review(
                    line.order_id,
                    line.line_id,
                    line.sku,
                    line.quantity,
                    "unknown_ship_to_area",
                    "the ship-to area is not in seeds/ship_to_areas: no distance, no decision",
                )
            )
    if not known:
        result.seconds = time.perf_counter() - started
        return result
    model, entries, lower, upper = _build(known, sites, stock, rules)
    values, result.status, result.objective = _solve(model, entries, lower, upper, rules)
    explain(result, known, sites, stock, rules, (model.x, model.u), values)
    result.seconds = time.perf_counter() - started
    return result


__all__ = ["Allocation", "OpenLine", "Result", "Review", "Site", "allocate"]
