"""The forecast's tables in the warehouse, and the atomic write-back.

- ``ml.demand_forecasts`` holds the latest forecast only (the champion's, with its 80 % and
  95 % intervals): each run replaces all of its rows in one transaction (delete + copy), so
  readers see the old forecast or the new one, never a mix;
- ``ml.forecast_runs`` keeps one row per run: the model version that served, whether the
  run trained a challenger and the promotion decision, the backtest metrics and the data
  snapshot hash;
- ``ml.forecast_history`` keeps what was forecast for each day as of each data day
  (``issued_through``), for monitoring;
- ``ml.forecast_accuracy`` (realised against forecast, per day and level) and
  ``ml.forecast_drift`` (one row per drift beyond its threshold, ``status`` ``open`` until
  a retraining answers it; the cases work turns open rows into cases) belong to
  :mod:`ml.monitoring`;
- ``ml.daily_demand`` (the published demand of one day, as the daily partition snapshot it)
  and ``ml.forecast_as_of`` (the forecast each day would have had: demand cut at the day)
  belong to :mod:`ml.as_of`, one partition key (the day) per slice.

:func:`ensure_schema` creates them all (idempotently, adding the columns older versions
lacked) so that API views over them can exist before the first run.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from datetime import date, datetime

import pandas as pd
import psycopg

from orderhub.warehouse import apply_ddl

FORECASTS_TABLE = "ml.demand_forecasts"
RUNS_TABLE = "ml.forecast_runs"
HISTORY_TABLE = "ml.forecast_history"
#: Columns of a forecast frame handed to :func:`replace_forecasts`.
FORECAST_COLUMNS = ("sku", "store_id", "region", "forecast_date", "units_forecast")
#: Interval columns written when the frame has them.
INTERVAL_COLUMNS = ("units_lower_80", "units_upper_80", "units_lower_95", "units_upper_95")

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
alter table ml.forecast_runs
    add column if not exists model_mase double precision,
    add column if not exists baseline_mase double precision,
    add column if not exists coverage_80 double precision,
    add column if not exists coverage_95 double precision,
    add column if not exists trained boolean,
    add column if not exists challenger_version text,
    add column if not exists promoted boolean,
    add column if not exists decision text,
    add column if not exists data_through date;
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
alter table ml.demand_forecasts
    add column if not exists units_lower_80 double precision,
    add column if not exists units_upper_80 double precision,
    add column if not exists units_lower_95 double precision,
    add column if not exists units_upper_95 double precision,
    add column if not exists model_alias text;
create index if not exists demand_forecasts_store_date_idx
    on ml.demand_forecasts (store_id, forecast_date);
create index if not exists forecast_runs_created_at_idx on ml.forecast_runs (created_at);
create table if not exists ml.forecast_history (
    issued_through date not null,
    sku text not null,
    store_id text not null,
    region text not null,
    forecast_date date not null,
    units_forecast double precision not null,
    model_version text not null,
    run_id text not null,
    primary key (issued_through, sku, store_id, forecast_date)
);
create index if not exists forecast_history_date_idx on ml.forecast_history (forecast_date);
create table if not exists ml.forecast_accuracy (
    demand_date date not null,
    level text not null,
    issued_through date not null,
    model_version text not null,
    actual_units double precision not null,
    forecast_units double precision not null,
    abs_error double precision not null,
    wape double precision,
    bias double precision,
    evaluated_at timestamptz not null,
    primary key (demand_date, level)
);
create table if not exists ml.forecast_drift (
    drift_id bigserial primary key,
    detected_at timestamptz not null,
    level text not null,
    metric text not null,
    observed double precision not null,
    threshold double precision not null,
    window_start date not null,
    window_end date not null,
    model_version text not null,
    status text not null default 'open',
    answered_by_run text,
    unique (level, metric, window_end)
);
create table if not exists ml.daily_demand (
    demand_date date not null,
    sku text not null,
    store_id text not null,
    region text not null,
    units numeric not null,
    country text,
    on_promotion boolean,
    snapshot_at timestamptz not null,
    primary key (demand_date, sku, store_id)
);
create table if not exists ml.forecast_as_of (
    as_of_date date not null,
    sku text not null,
    store_id text not null,
    region text not null,
    forecast_date date not null,
    units_forecast double precision not null,
    units_lower_80 double precision,
    units_upper_80 double precision,
    units_lower_95 double precision,
    units_upper_95 double precision,
    data_through date not null,
    model_version text not null,
    run_id text not null,
    created_at timestamptz not null,
    primary key (as_of_date, sku, store_id, forecast_date)
);
comment on table ml.daily_demand is
    'Published daily demand per SKU x store, one daily partition (demand_date) per snapshot.';
comment on table ml.forecast_as_of is
    'The forecast as of each day (demand cut at as_of_date), one daily partition per day.';
comment on table ml.demand_forecasts is
    'Latest daily demand forecast per SKU x store, from the champion model, with intervals.';
comment on table ml.forecast_runs is
    'One row per forecast run: serving model, promotion decision, backtest metrics, data hash.';
comment on table ml.forecast_history is
    'Every forecast as issued on each data day, for monitoring against realised demand.';
comment on table ml.forecast_accuracy is
    'Realised demand against forecast, per day and level (WAPE, bias).';
comment on table ml.forecast_drift is
    'Forecast drift beyond its threshold; open rows trigger retraining and become cases.';
"""


@dataclass(frozen=True)
class RunRecord:
    """One row of ``ml.forecast_runs`` (the metrics are the served forecast's backtest)."""

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
    model_mase: float | None = None
    baseline_mase: float | None = None
    coverage_80: float | None = None
    coverage_95: float | None = None
    trained: bool = True
    challenger_version: str | None = None
    promoted: bool | None = None
    decision: str | None = None
    data_through: date | None = None


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create schema ``ml`` and its tables if missing (safe to call concurrently)."""
    apply_ddl(conn, _SCHEMA_LOCK, _DDL)


def replace_forecasts(conn: psycopg.Connection, forecasts: pd.DataFrame, run: RunRecord) -> int:
    """Replace every forecast row with ``forecasts``, keep them in the history and record
    ``run``, atomically.

    ``forecasts`` has the columns :data:`FORECAST_COLUMNS` (and optionally
    :data:`INTERVAL_COLUMNS`). Concurrent writers are serialised by a table lock that plain
    readers do not wait for. Returns the number of rows written.
    """
    missing = set(FORECAST_COLUMNS) - set(forecasts.columns)
    if missing:
        raise ValueError(f"forecast frame lacks {', '.join(sorted(missing))}")
    ensure_schema(conn)
    intervals = [c for c in INTERVAL_COLUMNS if c in forecasts.columns]
    rows = forecasts[[*FORECAST_COLUMNS, *intervals]]
    columns = [*FORECAST_COLUMNS, *intervals, "model_name", "model_version", "run_id"]
    columns += ["created_at", "model_alias"]
    stamp = (run.model_name, run.model_version, run.run_id, run.created_at, "champion")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("lock table ml.demand_forecasts in share row exclusive mode")
        cur.execute("delete from ml.demand_forecasts")
        with cur.copy(f"copy ml.demand_forecasts ({', '.join(columns)}) from stdin") as copy:
            for sku, store_id, region, day, units, *bounds in rows.itertuples(
                index=False, name=None
            ):
                copy.write_row(
                    (sku, store_id, region, pd.Timestamp(day).date(), float(units), *bounds, *stamp)
                )
        if run.data_through is not None:
            _keep_history(cur, rows, run)
        names = [f.name for f in fields(RunRecord)]
        cur.execute(
            f"insert into ml.forecast_runs ({', '.join(names)})"
            f" values ({', '.join(['%s'] * len(names))})",
            astuple(run),
        )
    return len(rows)


def _keep_history(cur: psycopg.Cursor, rows: pd.DataFrame, run: RunRecord) -> None:
    """The forecast as issued through ``run.data_through`` (a later run that day wins)."""
    cur.execute("delete from ml.forecast_history where issued_through = %s", (run.data_through,))
    with cur.copy(
        "copy ml.forecast_history (issued_through, sku, store_id, region, forecast_date,"
        " units_forecast, model_version, run_id) from stdin"
    ) as copy:
        for sku, store_id, region, day, units, *_ in rows.itertuples(index=False, name=None):
            copy.write_row(
                (
                    run.data_through,
                    sku,
                    store_id,
                    region,
                    pd.Timestamp(day).date(),
                    float(units),
                    run.model_version,
                    run.run_id,
                )
            )
