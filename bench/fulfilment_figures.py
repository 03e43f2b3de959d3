"""Fulfilment figures for bench/RESULTS.md: allocation first-time-right against the
nearest-warehouse baseline, the solve time for 10,000 open lines, the replenishment backtest
against a min/max baseline, and CO2e per order with the consolidation saving.

Everything runs on the generated sandbox scenario (``--orders``, ``--seed``), replayed by
bench/fulfilment_sim.py; the decisions are the product's own functions (allocate,
suggest, the carbon accounting) with the rules of the seeds.

    uv run python bench/fulfilment_figures.py --orders 3000 --seed 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from fulfilment_sim import BENCH_SITES, history, nearest, replay

from fulfilment.allocation import allocate
from fulfilment.carbon import Shipment, consolidation, order_emissions, shipment_emissions
from fulfilment.replenishment import suggest
from fulfilment.rules import Rules, load_rules
from sandbox.model import StepKind
from sandbox.scenario import Scenario

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def allocation_figures(scenario: Scenario, rules: Rules, phantom: float) -> None:
    days = history(scenario, rules)
    print(f"\n## allocation over {len(days)} days, phantom stock {phantom:.0%} of quants a day")
    print(
        "| policy | orders | first-time-right | transfers | units transferred | backordered |"
        " road km per unit | transfer km per unit | cost EUR |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for policy in ("nearest", "milp"):
        o = replay(days, rules, policy, phantom=phantom, seed=3)
        print(
            f"| {policy} | {o.orders} | {o.first_time_right / o.orders:.1%} | {o.transfers} |"
            f" {o.transferred_units} | {o.backordered_units} | {o.road_km_units / o.units:.0f} |"
            f" {o.transfer_km_units / o.units:.1f} | {o.cost:,.0f} |"
        )
        if o.solve_seconds:
            print(
                f"  daily solves: median {statistics.median(o.solve_seconds):.2f} s,"
                f" max {max(o.solve_seconds):.2f} s"
            )


def solve_time(rules: Rules, seed: int, lines_wanted: int = 10_000) -> None:
    scenario = Scenario(seed=seed, orders=7000, as_of=AS_OF, anomalies=0)
    days = history(scenario, rules)
    lines = [ln for d in sorted(days) for order in days[d] for ln in order if ln.destination][
        :lines_wanted
    ]
    units: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:  # stock for about 90 % of what the lines ask, at their nearest site
        units[nearest(line, rules).code, line.sku] += line.quantity
    stock = {k: int(v * 0.9) for k, v in units.items()}
    print(
        f"\n## one solve of {len(lines)} open lines ({len({ln.order_id for ln in lines})} orders)"
    )
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = allocate(lines, BENCH_SITES, stock, rules)
        times.append(time.perf_counter() - started)
    print(
        f"status {result.status}; wall {', '.join(f'{t:.1f}' for t in times)} s;"
        f" median {statistics.median(times):.1f} s; {len(result.allocations)} allocations,"
        f" {len(result.reviews)} manual-review rows"
    )


def _demand(
    scenario: Scenario, rules: Rules
) -> tuple[list[date], dict[tuple[str, str], dict[date, int]]]:
    days = history(scenario, rules)
    demand: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for day, orders in days.items():
        for lines in orders:
            for line in lines:
                if line.destination is not None:
                    demand[nearest(line, rules).code, line.sku][day] += line.quantity
    first, last = min(days), max(days)
    return [first + timedelta(days=k) for k in range((last - first).days + 1)], demand


def _simulate(
    series: list[int], policy: str, warehouse: str, sku: str, rules: Rules
) -> tuple[int, int, float]:
    """(stock-out days, units short, mean units on hand) after a 28-day warm-up."""
    lead, _ = rules.lead_time(warehouse, sku)
    mean0 = statistics.mean(series[:28]) or 0.1
    low, high = 7 * mean0, 14 * mean0
    on_hand, pipeline, outs, short, held = high, defaultdict(float), 0, 0, []
    for t, want in enumerate(series):
        on_hand += pipeline.pop(t, 0.0)
        sold = min(on_hand, want)
        on_hand -= sold
        if t >= 28:
            outs += want > sold
            short += round(want - sold)
            held.append(on_hand)
        position = on_hand + sum(pipeline.values())
        if policy == "minmax":
            order = high - position if position <= low else 0.0
        else:
            window = series[max(0, t - 27) : t + 1]
            mu, sigma = statistics.mean(window), statistics.pstdev(window)
            days = [(date(2026, 1, 1), mu, sigma)] * 14
            order = suggest(
                warehouse, sku, days, (on_hand, on_hand, position - on_hand), rules
            ).suggested_quantity
        if order > 0:
            pipeline[t + lead] += order
    return outs, short, statistics.mean(held) if held else 0.0


def replenishment_backtest(scenario: Scenario, rules: Rules) -> None:
    calendar, demand = _demand(scenario, rules)
    print(f"\n## replenishment backtest: {len(demand)} site x SKU series over {len(calendar)} days")
    print("| policy | stock-out days | units short | mean units on hand |")
    print("| --- | ---: | ---: | ---: |")
    for policy in ("minmax", "quantiles"):
        totals = [0, 0, 0.0]
        for (warehouse, sku), by_day in sorted(demand.items()):
            outs, short, held = _simulate(
                [by_day.get(d, 0) for d in calendar], policy, warehouse, sku, rules
            )
            totals[0] += outs
            totals[1] += short
            totals[2] += held
        print(f"| {policy} | {totals[0]} | {totals[1]} | {totals[2]:.0f} |")


def carbon_figures(scenario: Scenario, rules: Rules) -> None:
    shipments = []
    for order in scenario.orders:
        out = next((s.at for s in order.steps if s.kind == StepKind.WMS_OUT_DONE), None)
        if out is None:
            continue
        kg = sum(line.quantity * rules.unit_weight_kg.get(line.sku, 1.0) for line in order.lines)
        shipments.append(
            Shipment(
                f"s{order.order_id}",
                order.order_id,
                order.warehouse,
                order.carrier,
                order.ship_to_country,
                order.ship_to_region,
                kg,
                datetime.fromtimestamp(out, tz=UTC),
            )
        )
    sites = {s.code: s for s in BENCH_SITES}
    rows = [r for s in shipments if (r := shipment_emissions(s, sites, rules)) is not None]
    orders = order_emissions(rows, rules)
    values = sorted(o["wtw_kg_co2e"] for o in orders)
    q = statistics.quantiles(values, n=20)
    total = sum(values)
    groups = consolidation(shipments, rows, rules)
    saving = sum(g["saving_kg_co2e"] for g in groups)
    low = sum(o["low_carbon_saving_kg_co2e"] for o in orders)
    print(
        f"\n## CO2e (WTW) per order: {len(orders)} shipped orders, factors {rules.factor_version}"
    )
    print(
        f"mean {statistics.mean(values):.3f} kg; p5 {q[0]:.3f}, p25 {q[4]:.3f}, median {q[9]:.3f},"
        f" p75 {q[14]:.3f}, p95 {q[18]:.3f}, max {values[-1]:.3f} kg; total {total:.1f} kg"
    )
    print(f"low-carbon option (electric last leg): {low:.1f} kg saved ({low / total:.1%})")
    print(
        f"consolidation: {len(groups)} groups of {sum(g['orders'] for g in groups)} orders,"
        f" {saving:.1f} kg saved ({saving / total:.1%} of the total)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phantom", type=float, default=0.05)
    args = parser.parse_args()
    rules = load_rules()
    scenario = Scenario(seed=args.seed, orders=args.orders, as_of=AS_OF, anomalies=0)
    allocation_figures(scenario, rules, args.phantom)
    solve_time(rules, args.seed)
    replenishment_backtest(scenario, rules)
    carbon_figures(scenario, rules)


if __name__ == "__main__":
    main()
