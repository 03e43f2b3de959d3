"""The forecast stage end to end against a real PostgreSQL and a real MLflow store."""

from __future__ import annotations

import psycopg
import pytest
from mlflow import MlflowClient

from ml.errors import ForecastError
from ml.features import snapshot_hash
from ml.forecast import ForecastResult, run_forecast
from ml.models import ModelConfig
from ml.synthetic import synthetic_demand, write_demand_table
from ml.tracking import EXPERIMENT, REGISTERED_MODEL, SNAPSHOT_TAG
from orderhub.settings import Settings

SERIES, DAYS, HORIZON = 12, 120, 14
SMALL = ModelConfig(n_estimators=40)


def _write(url: str, seed: int = 0, n_days: int = DAYS) -> str:
    demand = synthetic_demand(n_series=SERIES, n_days=n_days, seed=seed)
    with psycopg.connect(url, autocommit=True) as conn:
        write_demand_table(conn, demand)
    return snapshot_hash(demand)


def _table(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or None).fetchall()


def test_forecast_writes_tracks_and_replaces(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    first_hash = _write(url, seed=0)
    steps: list[str] = []
    result = run_forecast(url, settings, progress=steps.append, config=SMALL)

    assert isinstance(result, ForecastResult)
    assert result.series == SERIES
    assert result.horizon_days == HORIZON
    assert result.rows_written == SERIES * HORIZON
    assert result.model_name == REGISTERED_MODEL
    assert result.model_version == "1"
    assert result.data_snapshot_hash == first_hash
    assert result.model_mae < result.baseline_mae
    assert 0 < result.model_wape < 1
    assert any(s.startswith("loading marts.fct_daily_demand") for s in steps)
    assert any("writing" in s for s in steps)

    rows = _table(
        url,
        "select count(*), count(distinct (sku, store_id)), min(forecast_date), max(forecast_date),"
        " min(units_forecast), bool_and(run_id = %s), bool_and(model_version = '1')"
        " from ml.demand_forecasts",
        result.run_id,
    )
    count, series, first_day, last_day, lowest, same_run, same_version = rows[0]
    assert (count, series) == (SERIES * HORIZON, SERIES)
    assert (last_day - first_day).days == HORIZON - 1
    assert lowest >= 0
    assert same_run and same_version
    latest_demand = _table(url, "select max(demand_date) from marts.fct_daily_demand")[0][0]
    assert (first_day - latest_demand).days == 1

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    parent = client.get_run(result.run_id)
    assert parent.data.tags[SNAPSHOT_TAG] == first_hash
    assert parent.data.metrics["baseline_mae"] == pytest.approx(result.baseline_mae)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.artifact_location == settings.mlflow_artifact_dir.as_uri()

    # New data, new run: the forecast is replaced as a whole, the run history grows.
    second_hash = _write(url, seed=1)
    again = run_forecast(url, settings, horizon_days=7, config=SMALL)
    assert again.data_snapshot_hash == second_hash != first_hash
    assert again.model_version == "2"
    rows = _table(
        url,
        "select count(*), count(distinct (sku, store_id, forecast_date)), count(distinct run_id),"
        " max(run_id) from ml.demand_forecasts",
    )
    assert rows == [(SERIES * 7, SERIES * 7, 1, again.run_id)]
    runs = _table(url, "select run_id, horizon_days from ml.forecast_runs order by created_at")
    assert runs == [(result.run_id, HORIZON), (again.run_id, 7)]
    assert len(client.search_runs([experiment.experiment_id])) == 2 * 3


def test_missing_table_is_a_clear_error_and_writes_nothing(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    with pytest.raises(ForecastError, match=r"marts\.fct_daily_demand does not exist"):
        run_forecast(url, settings, config=SMALL)
    assert _table(url, "select to_regclass('ml.demand_forecasts')") == [(None,)]


def test_short_history_is_refused_and_the_old_forecast_stays(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    _write(url, n_days=28)  # exactly four weeks: just enough
    kept = run_forecast(url, settings, config=SMALL)
    assert kept.rows_written == SERIES * HORIZON
    _write(url, n_days=27)
    with pytest.raises(ForecastError, match=r"fct_daily_demand covers 27 day"):
        run_forecast(url, settings, config=SMALL)
    assert _table(url, "select count(*), max(run_id) from ml.demand_forecasts") == [
        (SERIES * HORIZON, kept.run_id)
    ]
