"""The forecast's tables in the warehouse, and the atomic write-back.

``ml.demand_forecasts`` holds the latest forecast only: each run replaces all of
its rows in one transaction (delete + copy), so readers see the old forecast or
the new one, never a mix. ``ml.forecast_runs`` keeps one row per run, with the
backtest metrics and the data snapshot hash. :func:`ensure_schema` creates both
(idempotently) so that API views over them can exist before the first run.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

import pandas as pd
import psycopg

from orderhub.warehouse import apply_ddl

FORECASTS_TABLE = "ml.demand_forecasts"
RUNS_TABLE = "ml.forecast_runs"
#: Columns of a forecast frame handed to :func:`replace_forecasts`.
FORECAST_COLUMNS = ("sku", "store_id", "region", "forecast_date", "units_forecast")

_SCHEMA_LOCK = "orderhub.ml.schema"
_DDL = """
create schema if not exists ml;
create table if not exists ml.forecast_runs (
    run_id text primary key,
    created_at timestamptz not null,
    model_name text not null,
    model_version text not null,
    horizon_days integer not null,
    series integer not null,
    model_mae double precision,
    baseline_mae double precision,
    model_wape double precision,
    baseline_wape double precision,
    data_snapshot_hash text not null
);
create table if not exists ml.demand_forecasts (
    sku text not null,
    store_id text not null,
    region text not null,
    forecast_date date not null,
    units_forecast double precision not null,
    model_name text not null,
    model_version text not null,
    run_id text not null,
    created_at timestamptz not null,
    primary key (sku, store_id, forecast_date)
);
create index if not exists demand_forecasts_store_date_idx
    on ml.demand_forecasts (store_id, forecast_date);
create index if not exists forecast_runs_created_at_idx on ml.forecast_runs (created_at);
comment on table ml.demand_forecasts is
    'Latest daily demand forecast per SKU x store (replaced as a whole by each run).';
comment on table ml.forecast_runs is
    'One row per forecast run: model, MLflow run, backtest metrics, data snapshot hash.';
"""


@dataclass(frozen=True)
class RunRecord:
    """One row of ``ml.forecast_runs``."""

    run_id: str
    created_at: datetime
    model_name: str
    model_version: str
    horizon_days: int
    series: int
    model_mae: float
    baseline_mae: float
    model_wape: float
    baseline_wape: float
    data_snapshot_hash: str


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create schema ``ml`` and both tables if missing (safe to call concurrently)."""
    apply_ddl(conn, _SCHEMA_LOCK, _DDL)


def replace_forecasts(conn: psycopg.Connection, forecasts: pd.DataFrame, run: RunRecord) -> int:
    """Replace every forecast row with ``forecasts`` and record ``run``, atomically.

    ``forecasts`` has the columns :data:`FORECAST_COLUMNS`. Concurrent writers are
    serialised by a table lock that plain readers do not wait for. Returns the number
    of rows written.
    """
    missing = set(FORECAST_COLUMNS) - set(forecasts.columns)
    if missing:
        raise ValueError(f"forecast frame lacks {', '.join(sorted(missing))}")
    ensure_schema(conn)
    rows = forecasts[list(FORECAST_COLUMNS)]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("lock table ml.demand_forecasts in share row exclusive mode")
        cur.execute("delete from ml.demand_forecasts")
        with cur.copy(
            "copy ml.demand_forecasts (sku, store_id, region, forecast_date, units_forecast,"
            " model_name, model_version, run_id, created_at) from stdin"
        ) as copy:
            for sku, store_id, region, day, units in rows.itertuples(index=False, name=None):
                copy.write_row(
                    (
                        sku,
                        store_id,
                        region,
                        pd.Timestamp(day).date(),
                        float(units),
                        run.model_name,
                        run.model_version,
                        run.run_id,
                        run.created_at,
                    )
                )
        cur.execute(
            "insert into ml.forecast_runs (run_id, created_at, model_name, model_version,"
            " horizon_days, series, model_mae, baseline_mae, model_wape, baseline_wape,"
            " data_snapshot_hash) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            astuple(run),
        )
    return len(rows)
