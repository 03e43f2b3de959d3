"""The ``fulfilment`` schema: what the decisions read from the warehouse and write to it.

Tables (:func:`ensure_schema` creates them, idempotently, so the api views over them exist
before the first run):

- ``allocation_runs``: one row per solve (status, size, objective, seconds, rules version);
- ``allocations``: the latest solve's allocations, with reason code and reason (replaced in
  one transaction per solve);
- ``manual_review``: lines the allocation could not decide, one row per (order, line, kind),
  ``status`` ``open`` until a person (or the cases work, which turns open rows into cases)
  closes it; a later solve that decides the line closes it as ``resolved``;
- ``replenishment``: the latest reorder points, order-up-to levels, suggestions and
  stock-out risks per warehouse and SKU;
- ``writebacks``: every write-back to a source system by idempotency key, with its answer
  and the provenance leaf that records it;
- ``shipment_emissions``, ``order_emissions``, ``consolidation_suggestions``: the carbon
  accounting's latest results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from fulfilment.decisions import OpenLine, Site
from fulfilment.rules import Rules
from orderhub.warehouse import apply_ddl

_SCHEMA_LOCK = "orderhub.fulfilment.schema"
_DDL = """
create schema if not exists fulfilment;
create table if not exists fulfilment.allocation_runs (
    run_id text primary key, solved_at timestamptz not null, status text not null,
    lines integer not null, orders integer not null, objective double precision,
    solve_seconds double precision not null, rules_version text not null
);
create table if not exists fulfilment.allocations (
    run_id text not null, order_id text not null, line_id text not null, sku text not null,
    warehouse text not null, quantity integer not null, road_km double precision not null,
    unit_cost double precision not null, is_first_choice boolean not null,
    reason_code text not null, reason text not null,
    primary key (order_id, line_id, warehouse)
);
create table if not exists fulfilment.manual_review (
    order_id text not null, line_id text not null, kind text not null, sku text not null,
    quantity_short integer not null, detail text not null, status text not null default 'open',
    first_raised_at timestamptz not null, last_run_id text not null,
    primary key (order_id, line_id, kind)
);
create table if not exists fulfilment.replenishment (
    run_id text not null, warehouse text not null, sku text not null,
    on_hand double precision not null, available double precision not null,
    on_order double precision not null,
    daily_mean double precision not null, lead_time_days integer not null,
    review_period_days integer not null, reorder_point double precision not null,
    order_up_to double precision not null, suggested_quantity double precision not null,
    stockout_risk double precision not null, primary key (warehouse, sku)
);
create table if not exists fulfilment.writebacks (
    idempotency_key text primary key, target text not null, request jsonb not null,
    response jsonb, http_status integer, created_at timestamptz not null default now(),
    leaf_index bigint
);
create table if not exists fulfilment.shipment_emissions (
    shipment_id text primary key, order_id text not null, warehouse text, carrier text,
    destination_country text, destination_region text, road_km double precision not null,
    distance_method text not null, weight_kg double precision not null,
    trunk_vehicle text not null, last_mile_vehicle text not null,
    wtw_kg_co2e double precision not null, ttw_kg_co2e double precision not null,
    factor_version text not null
);
create table if not exists fulfilment.order_emissions (
    order_id text primary key, shipments integer not null, weight_kg double precision not null,
    wtw_kg_co2e double precision not null, low_carbon_option text not null,
    low_carbon_wtw_kg_co2e double precision not null,
    low_carbon_saving_kg_co2e double precision not null, factor_version text not null
);
create table if not exists fulfilment.consolidation_suggestions (
    group_id text primary key, warehouse text not null, destination_country text not null,
    destination_region text not null, window_start timestamptz not null,
    order_ids text[] not null, orders integer not null,
    separate_wtw_kg_co2e double precision not null,
    consolidated_wtw_kg_co2e double precision not null,
    saving_kg_co2e double precision not null
);
"""


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the ``fulfilment`` schema and its tables if they are missing."""
    apply_ddl(conn, _SCHEMA_LOCK, _DDL)


def read_sites(conn: psycopg.Connection[Any]) -> list[Site]:
    """The warehouses as the WMS last described them (newest version of each), but those
    Odoo archived."""
    rows = conn.execute(
        "select warehouse, latitude, longitude, is_cold_chain from ("
        "select distinct on (warehouse_id) warehouse, latitude, longitude, is_cold_chain,"
        " is_archived from staging.stg_wms__warehouses where latitude is not null"
        " order by warehouse_id, changed_at desc, extracted_at desc"
        ") latest where not is_archived"  # a site archived in Odoo gets nothing
    ).fetchall()
    return sorted(
        (Site(r[0], float(r[1]), float(r[2]), bool(r[3])) for r in rows), key=lambda s: s.code
    )


def read_stock(
    conn: psycopg.Connection[Any],
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], float]]:
    """(available units, on-hand units) per (warehouse, SKU), from each quant's newest version."""
    rows = conn.execute(
        "select warehouse, sku, sum(available_quantity), sum(quantity) from ("
        " select distinct on (quant_id) warehouse, sku, available_quantity, quantity"
        " from staging.stg_wms__stock_quants order by quant_id, changed_at desc, extracted_at desc"
        ") q group by warehouse, sku"
    ).fetchall()
    available = {(r[0], r[1]): int(r[2]) for r in rows}
    on_hand = {(r[0], r[1]): float(r[3]) for r in rows}
    return available, on_hand


_OPEN_LINES = """
select l.order_id, l.line_id, l.sku, l.quantity, o.ship_to_country, o.ship_to_region,
       o.delivery_method, o.created_at, coalesce(o.total_net_amount, 0),
       coalesce(p.product_category, ''),
       exists (select 1 from marts.fct_order_tags t
               where t.order_id = o.order_id and t.tag = 'priority')
from marts.fct_order_lines l
join marts.fct_order_current_status o on o.order_id = l.order_id
left join {seeds}.product_catalog p on p.sku = l.sku
where o.canonical_status = any(%s) and not coalesce(l.is_cancelled, false)
  and not coalesce(l.is_return, false) and l.quantity > 0
order by o.created_at, l.order_id, l.line_id
"""


def seeds_schema(conn: psycopg.Connection[Any]) -> str:
    """The schema dbt loaded the seeds into (the one holding product_catalog)."""
    row = conn.execute(
        "select table_schema from information_schema.tables where table_name = 'product_catalog'"
        " order by table_schema limit 1"
    ).fetchone()
    if row is None:
        raise LookupError("no product_catalog seed in the warehouse: run dbt first")
    return str(row[0])


def read_open_lines(conn: psycopg.Connection[Any], rules: Rules, now: datetime) -> list[OpenLine]:
    """The lines of every order still open (the statuses of the ``modifiable_not_yet_picked``
    tag rule), with destination, cold chain, priority and days left to the promise."""
    query = _OPEN_LINES.format(seeds=seeds_schema(conn))
    lines = []
    for row in conn.execute(query, (list(rules.open_statuses),)).fetchall():
        (
            order_id,
            line_id,
            sku,
            quantity,
            country,
            region,
            method,
            created,
            value,
            category,
            tagged,
        ) = row
        promised_days = rules.promise_days(method)
        left = (created.timestamp() + promised_days * 86400 - now.timestamp()) / 86400
        lines.append(
            OpenLine(
                order_id=str(order_id),
                line_id=str(line_id),
                sku=str(sku),
                quantity=int(quantity),
                destination=rules.areas.get((country, region)),
                cold_chain=category in rules.cold_chain_categories,
                priority=bool(tagged) or float(value) >= rules["high_value_threshold"],
                days_to_promise=left,
            )
        )
    return lines


def replace_rows(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Replace every row of ``table`` with ``rows`` (in the caller's transaction)."""
    conn.execute(f"delete from {table}")
    count = 0
    with conn.cursor().copy(f"copy {table} ({', '.join(columns)}) from stdin") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
