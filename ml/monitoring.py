"""Monitoring after the fact: realised demand against what was forecast, and drift.

Each run, for every day the data now covers and that a served forecast was issued for
before it (``ml.forecast_history``, the latest issue before the day), the realised units
are compared with the forecast at every level of the hierarchy (SKU x store, store,
region, total): WAPE and bias per day and level go to ``ml.forecast_accuracy``.

Drift: over the last :attr:`DriftPolicy.window_days` evaluated days, a level whose WAPE
exceeds the champion's backtest WAPE at that level by more than ``wape_tolerance``
(relative), or whose bias goes beyond ``max_abs_bias``, raises a row in
``ml.forecast_drift`` (``status`` ``open``). An open row makes the forecast retrain
(:mod:`ml.forecast`), which marks it ``retrained`` with its run; the cases work turns open
rows into cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg

from ml.features import DemandPanel, series_id
from ml.hierarchy import BOTTOM, build_hierarchy


@dataclass(frozen=True)
class DriftPolicy:
    """When realised accuracy counts as drift."""

    window_days: int = 7
    min_days: int = 3
    wape_tolerance: float = 0.25
    max_abs_bias: float = 0.25


@dataclass(frozen=True)
class DriftAlert:
    """One level beyond its threshold over the window."""

    level: str
    metric: str
    observed: float
    threshold: float
    window_start: date
    window_end: date


def _issued(conn: psycopg.Connection, first: date, last: date) -> pd.DataFrame:
    """For each day from ``first`` to ``last``: the forecast rows of the latest issue before it."""
    rows = conn.execute(
        "select distinct on (sku, store_id, forecast_date) sku, store_id, forecast_date,"
        " units_forecast, issued_through, model_version from ml.forecast_history"
        " where forecast_date between %s and %s and issued_through < forecast_date"
        " order by sku, store_id, forecast_date, issued_through desc",
        (first, last),
    ).fetchall()
    columns = ["sku", "store_id", "forecast_date", "units", "issued_through", "model_version"]
    return pd.DataFrame(rows, columns=columns)


def realised_accuracy(conn: psycopg.Connection, panel: DemandPanel) -> pd.DataFrame:
    """``demand_date, level, issued_through, model_version, actual_units, forecast_units,
    abs_error, wape, bias`` for every complete day of the panel (all but its last, which may
    still be filling) that had a forecast issued before it and is not yet in
    ``ml.forecast_accuracy``."""
    done = conn.execute("select max(demand_date) from ml.forecast_accuracy").fetchone()
    first = max(panel.start, (done[0] + timedelta(days=1)) if done and done[0] else panel.start)
    issued = _issued(conn, first, panel.end - timedelta(days=1))
    if issued.empty:
        return pd.DataFrame()
    hierarchy = build_hierarchy(panel.series)
    index = {uid: i for i, uid in enumerate(panel.series["unique_id"])}
    rows = []
    for day, part in issued.groupby("forecast_date", sort=True):
        column = (pd.Timestamp(day) - pd.Timestamp(panel.start)).days
        forecast = np.zeros(panel.n_series)
        ids = [series_id(s, st) for s, st in zip(part["sku"], part["store_id"], strict=True)]
        known = np.array([uid in index for uid in ids])
        positions = np.array([index[uid] for uid, ok in zip(ids, known, strict=True) if ok])
        if len(positions):
            forecast[positions] = part["units"].to_numpy(dtype=float)[known]
        covered = np.zeros(panel.n_series, dtype=bool)
        covered[positions.astype(int)] = True
        actual = np.where(covered, panel.matrix[:, column], 0.0)
        rows += _level_rows(hierarchy, day, actual, forecast, part)
    return pd.DataFrame(rows)


def _level_rows(hierarchy, day, actual: np.ndarray, forecast: np.ndarray, part) -> list[dict]:
    out = []
    levels = {BOTTOM: (actual[None, :].T, forecast[None, :].T)}
    agg_actual, agg_forecast = hierarchy.aggregate(actual), hierarchy.aggregate(forecast)
    for level in ("store", "region", "total"):
        rows = hierarchy.aggregate_levels == level
        levels[level] = (agg_actual[rows], agg_forecast[rows])
    for level, (y, y_hat) in levels.items():
        total = float(np.sum(y))
        error = float(np.abs(np.ravel(y) - np.ravel(y_hat)).sum())
        out.append(
            {
                "demand_date": day,
                "level": level,
                "issued_through": part["issued_through"].max(),
                "model_version": str(part["model_version"].iloc[-1]),
                "actual_units": total,
                "forecast_units": float(np.sum(y_hat)),
                "abs_error": error,
                "wape": error / total if total else None,
                "bias": (float(np.sum(y_hat)) - total) / total if total else None,
            }
        )
    return out


def store_accuracy(conn: psycopg.Connection, accuracy: pd.DataFrame) -> None:
    """Upsert ``accuracy`` rows into ``ml.forecast_accuracy``."""
    now = datetime.now(UTC)
    for row in accuracy.itertuples(index=False):
        conn.execute(
            "insert into ml.forecast_accuracy (demand_date, level, issued_through, model_version,"
            " actual_units, forecast_units, abs_error, wape, bias, evaluated_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (demand_date, level) do update set"
            " issued_through = excluded.issued_through, model_version = excluded.model_version,"
            " actual_units = excluded.actual_units, forecast_units = excluded.forecast_units,"
            " abs_error = excluded.abs_error, wape = excluded.wape, bias = excluded.bias,"
            " evaluated_at = excluded.evaluated_at",
            (*row, now),
        )


def detect_drift(
    conn: psycopg.Connection, expected_wape: dict[str, float], policy: DriftPolicy
) -> list[DriftAlert]:
    """Levels beyond their thresholds over the last evaluated days (see the module)."""
    latest = conn.execute("select max(demand_date) from ml.forecast_accuracy").fetchone()
    if not latest or latest[0] is None:
        return []
    end = latest[0]
    start = end - timedelta(days=policy.window_days - 1)
    rows = conn.execute(
        "select level, count(*), sum(abs_error), sum(actual_units), sum(forecast_units)"
        " from ml.forecast_accuracy where demand_date between %s and %s group by level",
        (start, end),
    ).fetchall()
    alerts = []
    for level, days, abs_error, actual, forecast in rows:
        if days < policy.min_days or not actual:
            continue
        wape, bias = abs_error / actual, (forecast - actual) / actual
        expected = expected_wape.get(level)
        if expected is not None and expected == expected:
            limit = expected * (1.0 + policy.wape_tolerance)
            if wape > limit:
                alerts.append(DriftAlert(level, "wape", wape, limit, start, end))
        if abs(bias) > policy.max_abs_bias:
            alerts.append(DriftAlert(level, "bias", bias, policy.max_abs_bias, start, end))
    return alerts


def raise_drift(conn: psycopg.Connection, alerts: list[DriftAlert], model_version: str) -> int:
    """Insert one ``open`` row per new alert; how many were new."""
    new = 0
    for alert in alerts:
        cur = conn.execute(
            "insert into ml.forecast_drift (detected_at, level, metric, observed, threshold,"
            " window_start, window_end, model_version) values (%s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (level, metric, window_end) do nothing",
            (
                datetime.now(UTC),
                alert.level,
                alert.metric,
                alert.observed,
                alert.threshold,
                alert.window_start,
                alert.window_end,
                model_version,
            ),
        )
        new += max(cur.rowcount, 0)
    return new


def open_drift(conn: psycopg.Connection) -> int:
    """Open drift rows (each asks for a retraining)."""
    row = conn.execute("select count(*) from ml.forecast_drift where status = 'open'").fetchone()
    return int(row[0]) if row else 0


def answer_drift(conn: psycopg.Connection, run_id: str) -> int:
    """Mark every open drift row ``retrained`` by ``run_id``; how many."""
    cur = conn.execute(
        "update ml.forecast_drift set status = 'retrained', answered_by_run = %s"
        " where status = 'open'",
        (run_id,),
    )
    return max(cur.rowcount, 0)
