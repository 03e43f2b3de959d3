"""One fulfilment run: allocate the open lines, plan replenishment and carrier capacity,
account for carbon, and write back to the source systems.

:func:`run_fulfilment` is what the Dagster asset and the benchmarks call; each step is also
a function of its own. The tables it writes are :mod:`fulfilment.store`'s.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from fulfilment import carbon
from fulfilment.allocation import Result, allocate
from fulfilment.replenishment import (
    DayForecast,
    Suggestion,
    capacity_needs,
    demand_by_site,
    suggest,
)
from fulfilment.rules import Rules, load_rules
from fulfilment.store import (
    ensure_schema,
    read_open_lines,
    read_sites,
    read_stock,
    replace_rows,
    seeds_schema,
)  # fmt: skip
from fulfilment.writeback import Outcome, capacity_request, replenishment_request, write_back
from ledger.log import ProvenanceLog
from orderhub.cases.store import raise_from_marts

_ALLOCATION_COLUMNS = ("run_id", "order_id", "line_id", "sku", "warehouse", "quantity", "road_km",
                       "unit_cost", "is_first_choice", "reason_code", "reason")  # fmt: skip


@dataclass
class FulfilmentRun:
    """What one run did."""

    run_id: str
    allocation: Result
    suggestions: list[Suggestion] = field(default_factory=list)
    capacity: dict[tuple[str, str, date], int] = field(default_factory=dict)
    shipments_accounted: int = 0
    consolidation_groups: int = 0
    writebacks: list[Outcome] = field(default_factory=list)


def run_allocation(
    conn: psycopg.Connection[Any], rules: Rules, now: datetime, run_id: str
) -> Result:
    """Allocate every open line; replace ``fulfilment.allocations``; raise and resolve
    manual-review rows."""
    available, _ = read_stock(conn)
    lines = read_open_lines(conn, rules, now)
    sites = read_sites(conn)
    if not sites:  # the WMS has described no warehouse yet: nothing to decide against
        result = Result(lines=len(lines), status="no warehouses known")
        conn.execute(
            "insert into fulfilment.allocation_runs values (%s, %s, %s, %s, 0, null, 0, %s)",
            (run_id, now, result.status, result.lines, rules.version),
        )
        conn.commit()
        return result
    result = allocate(lines, sites, available, rules)
    first = result.first_choice()
    with conn.transaction():
        conn.execute(
            "insert into fulfilment.allocation_runs values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, now, result.status, result.lines, len({ln.order_id for ln in lines}),
             result.objective, result.seconds, rules.version),
        )  # fmt: skip
        replace_rows(conn, "fulfilment.allocations", _ALLOCATION_COLUMNS, (
            (run_id, a.order_id, a.line_id, a.sku, a.warehouse, a.quantity, a.road_km, a.unit_cost,
             first.get(a.order_id) == a.warehouse, a.reason_code, a.reason)
            for a in result.allocations
        ))  # fmt: skip
        for r in result.reviews:
            conn.execute(
                "insert into fulfilment.manual_review (order_id, line_id, kind, sku,"
                " quantity_short, detail, first_raised_at, last_run_id)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict (order_id, line_id, kind) do update set detail = excluded.detail,"
                " quantity_short = excluded.quantity_short, last_run_id = excluded.last_run_id,"
                " status = case when fulfilment.manual_review.status = 'resolved' then 'open'"
                " else fulfilment.manual_review.status end",
                (r.order_id, r.line_id, r.kind, r.sku, r.quantity_short, r.detail, now, run_id),
            )
        conn.execute(
            "update fulfilment.manual_review set status = 'resolved'"
            " where status = 'open' and last_run_id <> %s",
            (run_id,),
        )
        # the lines held for a check are cases for the review team
        raise_from_marts(conn, sorted({r.order_id for r in result.reviews}))
    return result


def _forecasts(conn: psycopg.Connection[Any], seeds: str, since: date) -> list[DayForecast]:
    rows = conn.execute(
        f"select f.sku, l.city, f.forecast_date, f.units_forecast, f.units_upper_80,"
        f" f.units_upper_95 from ml.demand_forecasts f"
        f" join {seeds}.locations l on l.node_code = f.store_id"
        f" where f.forecast_date >= %s order by f.forecast_date",
        (since,),
    ).fetchall()
    return [DayForecast(r[0], r[1], r[2], float(r[3]), r[4], r[5]) for r in rows]


def _cold_skus(conn: psycopg.Connection[Any], seeds: str, rules: Rules) -> set[str]:
    rows = conn.execute(f"select sku, product_category from {seeds}.product_catalog").fetchall()
    return {sku for sku, category in rows if category in rules.cold_chain_categories}


def _carrier_shares(conn: psycopg.Connection[Any]) -> dict[str, dict[str, float]]:
    rows = conn.execute(
        "select warehouse, carrier, count(*) from marts.fct_shipment_current_status"
        " where direction = 'outbound' and carrier is not null and warehouse is not null"
        " group by warehouse, carrier"
    ).fetchall()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for warehouse, carrier, n in rows:
        counts[warehouse][carrier] += n
    return {w: {c: n / sum(cs.values()) for c, n in cs.items()} for w, cs in counts.items()}


def _on_order(conn: psycopg.Connection[Any], today: date) -> dict[tuple[str, str], float]:
    rows = conn.execute(
        "select request ->> 'warehouse', request ->> 'product',"
        " sum((request ->> 'quantity')::numeric)"
        " from fulfilment.writebacks where target = 'wms_replenishment'"
        " and http_status between 200 and 299 and (request ->> 'scheduled_date')::date > %s"
        " group by 1, 2",
        (today,),
    ).fetchall()
    return {(r[0], r[1]): float(r[2]) for r in rows}


def run_replenishment(
    conn: psycopg.Connection[Any], rules: Rules, today: date, run_id: str
) -> tuple[list[Suggestion], dict[tuple[str, str, date], int]]:
    """Reorder points, order-up-to levels, suggestions and risks; capacity per carrier."""
    seeds = seeds_schema(conn)
    sites = read_sites(conn)
    available, on_hand = read_stock(conn)
    demand = demand_by_site(
        _forecasts(conn, seeds, today), sites, rules, _cold_skus(conn, seeds, rules)
    )
    on_order = _on_order(conn, today)
    suggestions = [
        suggest(w, sku, demand.get((w, sku), []),
                (on_hand[w, sku], float(available[w, sku]), on_order.get((w, sku), 0.0)), rules)
        for (w, sku) in sorted(on_hand)
    ]  # fmt: skip
    with conn.transaction():
        replace_rows(conn, "fulfilment.replenishment", ("run_id", *Suggestion.__dataclass_fields__),
                     ((run_id, *asdict(s).values()) for s in suggestions))  # fmt: skip
    shares = _carrier_shares(conn)
    capacity: dict[tuple[str, str, date], int] = {}
    for (site, day), parcels in capacity_needs(
        demand, int(rules["capacity_days"]), rules["units_per_parcel"]
    ).items():
        for carrier, share in sorted(shares.get(site, {}).items()):
            if math.ceil(parcels * share) > 0:
                capacity[carrier, site, day] = math.ceil(parcels * share)
    return suggestions, capacity


def run_carbon(conn: psycopg.Connection[Any], rules: Rules) -> tuple[int, int]:
    """Emissions per shipment and order, consolidation suggestions: (shipments, groups)."""
    shipments = carbon.read_shipments(conn, seeds_schema(conn))
    sites = {s.code: s for s in read_sites(conn)}
    chain = carbon.Chain(sites, rules)
    rows = [r for s in shipments if (r := carbon.shipment_emissions(s, sites, rules, chain))]
    orders = carbon.order_emissions(rows, rules)
    groups = carbon.consolidation(shipments, rows, rules)
    with conn.transaction():
        for table, data in (("shipment_emissions", rows), ("order_emissions", orders),
                            ("consolidation_suggestions", groups)):  # fmt: skip
            columns = tuple(data[0]) if data else ()
            if columns:
                replace_rows(
                    conn, f"fulfilment.{table}", columns, (tuple(d.values()) for d in data)
                )
            else:
                conn.execute(f"delete from fulfilment.{table}")
    return len(rows), len(groups)


def run_fulfilment(
    database_url: str,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    log: ProvenanceLog | None = None,
    now: datetime | None = None,
) -> FulfilmentRun:
    """The whole run; write-backs only when ``configs`` (the ``wms`` and ``tms`` connector
    configs) are given."""
    now = now or datetime.now(UTC)
    rules, run_id = load_rules(), f"fulfil-{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    with psycopg.connect(database_url) as conn:
        ensure_schema(conn)
        run = FulfilmentRun(run_id, run_allocation(conn, rules, now, run_id))
        run.suggestions, run.capacity = run_replenishment(conn, rules, now.date(), run_id)
        run.shipments_accounted, run.consolidation_groups = run_carbon(conn, rules)
        if configs is not None:
            requests = [
                replenishment_request(s.warehouse, s.sku, s.suggested_quantity,
                                      (now.date() + timedelta(days=s.lead_time_days)).isoformat())
                for s in run.suggestions if s.suggested_quantity > 0
            ]  # fmt: skip
            requests += [
                capacity_request(carrier, site, day.isoformat(), parcels)
                for (carrier, site, day), parcels in run.capacity.items()
            ]
            run.writebacks = write_back(conn, log, requests, configs)
    return run
