"""The forecast stage by day: one day's published demand, and the forecast as of one day.

Both are daily slices keyed by their day, written so that re-running a day replaces that
day's rows and nothing else (one transaction: delete the day, copy its rows):

- :func:`snapshot_day` copies the rows of one ``demand_date`` of the published demand
  (``marts.fct_daily_demand``) into ``ml.daily_demand``, stamped with the snapshot time:
  the demand of that day as it was published when the day was taken in;
- :func:`forecast_as_of` is the forecast that day would have had: the demand cut at the day
  (no row of a later day is read), forecast ``horizon`` days on by the current champion,
  into ``ml.forecast_as_of`` under ``as_of_date``. Over past days (a backfill) this is a
  backtest history of the champion. The champion's fitted parameters (its global LightGBM
  model, its calibration) come from its own training, which may have seen later days: the
  demand is cut, the model is today's. It trains nothing and writes nothing the API serves
  (``ml.demand_forecasts`` stays the full flow's).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pandas as pd
import psycopg

from ml.errors import ForecastError
from ml.features import DEMAND_TABLE, OPTIONAL_COLUMNS, load_panel, read_demand, snapshot_hash
from ml.forecast import champion_rows
from ml.store import INTERVAL_COLUMNS, ensure_schema
from orderhub.settings import Settings, disable_telemetry
from orderhub.warehouse import connect

if TYPE_CHECKING:
    from ml.pipeline import EngineConfig

DAILY_DEMAND_TABLE = "ml.daily_demand"
AS_OF_TABLE = "ml.forecast_as_of"
_KEY = ("sku", "store_id")


@dataclass(frozen=True)
class DaySnapshot:
    """One day's published demand, as :func:`snapshot_day` stored it."""

    day: date
    rows: int
    units: float
    snapshot_hash: str


@dataclass(frozen=True)
class AsOfForecast:
    """What :func:`forecast_as_of` wrote for one day."""

    as_of: date
    data_through: date
    model_version: str
    run_id: str
    series: int
    rows_written: int
    data_snapshot_hash: str


def snapshot_day(conn: psycopg.Connection, day: date, table: str = DEMAND_TABLE) -> DaySnapshot:
    """Replace ``day``'s rows of ``ml.daily_demand`` with that day's rows of ``table``."""
    ensure_schema(conn)
    raw = read_demand(conn, table, only=day)
    optional = [c for c in OPTIONAL_COLUMNS if c in raw.columns]
    # one row per SKU x store, as the panel sums duplicates
    last = dict.fromkeys(["region", *optional], "last")
    raw = raw.groupby(list(_KEY), as_index=False, sort=True).agg({"units": "sum", **last})
    columns = ["sku", "store_id", "region", "units", *optional]
    stamp = datetime.now(UTC)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("delete from ml.daily_demand where demand_date = %s", (day,))
        names = ", ".join(["demand_date", *columns, "snapshot_at"])
        with cur.copy(f"copy ml.daily_demand ({names}) from stdin") as copy:
            for row in raw[columns].itertuples(index=False, name=None):
                copy.write_row((day, *row, stamp))
    digest = snapshot_hash(raw.assign(demand_date=day)) if not raw.empty else ""
    return DaySnapshot(day, len(raw), float(raw["units"].astype(float).sum()), digest)


def forecast_as_of(
    database_url: str,
    settings: Settings,
    as_of: date,
    *,
    config: EngineConfig | None = None,
    table: str = DEMAND_TABLE,
    progress: Callable[[str], None] | None = None,
) -> AsOfForecast:
    """The champion's forecast from the demand up to ``as_of``, replacing that day's rows of
    ``ml.forecast_as_of`` (see the module). Raises :class:`ForecastError` when there is no
    champion yet or the history up to the day is too short."""
    disable_telemetry()
    say = progress or (lambda message: None)
    from ml.pipeline import EngineConfig
    from ml.training import Training

    config = replace(config or EngineConfig(), horizon=settings.forecast_horizon_days)
    with connect(database_url, autocommit=True) as conn:
        panel = load_panel(conn, table, through=as_of)
    say(f"demand as of {as_of}: {panel.n_series} series, {panel.start} to {panel.end}")
    champion = Training(settings, config, say).champion()
    if champion is None:
        raise ForecastError(
            "no champion model yet: run the full flow (orderhub demo, or the job "
            "orderhub_full_flow) once before forecasting past days"
        )
    version, pipeline = champion
    rows = champion_rows(panel, pipeline.forecast(panel, config.horizon))
    run_id = f"as-of-{as_of.isoformat()}-{uuid.uuid4().hex[:12]}"
    with connect(database_url) as conn:
        ensure_schema(conn)
        written = _replace_day(conn, as_of, rows, panel.end, version, run_id)
        conn.commit()
    say(f"forecast as of {as_of}: {written} rows by v{version} ({run_id})")
    return AsOfForecast(
        as_of, panel.end, version, run_id, panel.n_series, written, panel.snapshot_hash
    )


def _replace_day(
    conn: psycopg.Connection,
    as_of: date,
    rows: pd.DataFrame,
    data_through: date,
    version: str,
    run_id: str,
) -> int:
    """Replace the rows of ``as_of`` in ``ml.forecast_as_of`` with ``rows``."""
    columns = ["sku", "store_id", "region", "forecast_date", "units_forecast", *INTERVAL_COLUMNS]
    stamp = (data_through, version, run_id, datetime.now(UTC))
    names = ", ".join(["as_of_date", *columns, "data_through", "model_version", "run_id"])
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("delete from ml.forecast_as_of where as_of_date = %s", (as_of,))
        with cur.copy(f"copy ml.forecast_as_of ({names}, created_at) from stdin") as copy:
            for sku, store, region, day, *values in rows[columns].itertuples(
                index=False, name=None
            ):
                day = pd.Timestamp(day).date()
                copy.write_row((as_of, sku, store, region, day, *map(float, values), *stamp))
    return len(rows)
