"""The forecast stage end to end against a real PostgreSQL and a real MLflow store:
training, the champion and the challenger, serving with intervals, monitoring and drift."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from mlflow import MlflowClient

from ml.errors import ForecastError
from ml.features import snapshot_hash
from ml.forecast import ForecastResult, RetrainPolicy, run_forecast
from ml.models import ModelConfig
from ml.pipeline import EngineConfig
from ml.registry import CHALLENGER, CHAMPION, REGISTERED_MODEL, alias_version
from ml.synthetic import synthetic_demand, write_demand_table
from ml.tracking import EXPERIMENT, SNAPSHOT_TAG
from orderhub.settings import Settings

SERIES, DAYS, HORIZON = 12, 120, 14
END = date(2026, 9, 30)
SMALL = EngineConfig(gbm=ModelConfig(n_estimators=40))


def _write(
    url: str, seed: int = 0, n_days: int = DAYS, boost_last: int = 0, end: date = END
) -> str:
    demand = synthetic_demand(n_series=SERIES, n_days=n_days, seed=seed, end=end)
    if boost_last:  # demand jumps in the last days: what the forecast did not see coming
        last = sorted(demand["demand_date"].unique())[-boost_last:]
        demand.loc[demand["demand_date"].isin(last), "units"] *= 4
    with psycopg.connect(url, autocommit=True) as conn:
        write_demand_table(conn, demand)
    return snapshot_hash(demand)


def _table(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or None).fetchall()


def _runs(client: MlflowClient) -> int:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return len(client.search_runs([experiment.experiment_id]))


def test_train_promote_serve_then_keep_the_champion(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    first_hash = _write(url)
    steps: list[str] = []
    result = run_forecast(url, settings, progress=steps.append, config=SMALL)

    assert isinstance(result, ForecastResult)
    assert (result.trained, result.promoted, result.model_version) == (True, True, "1")
    assert result.decision == "no champion yet"
    assert result.rows_written == SERIES * HORIZON
    assert result.data_snapshot_hash == first_hash
    assert result.model_mae < result.baseline_mae
    assert 0.5 < result.coverage_80 < result.coverage_95 <= 1.0
    assert any(s.startswith("training a challenger: no champion yet") for s in steps)
    rows = _table(
        url,
        "select count(*), min(forecast_date), max(forecast_date), bool_and(model_version = '1'),"
        " bool_and(units_lower_95 <= units_lower_80 and units_lower_80 <= units_forecast"
        " and units_forecast <= units_upper_80 and units_upper_80 <= units_upper_95),"
        " bool_and(model_alias = 'champion') from ml.demand_forecasts",
    )
    count, first_day, last_day, same_version, ordered, champion = rows[0]
    assert count == SERIES * HORIZON and same_version and ordered and champion
    assert (last_day - first_day).days == HORIZON - 1
    latest_demand = _table(url, "select max(demand_date) from marts.fct_daily_demand")[0][0]
    assert (first_day - latest_demand).days == 1

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    assert alias_version(client, CHAMPION) == alias_version(client, CHALLENGER) == "1"
    parent = client.get_run(result.run_id)
    assert parent.data.tags[SNAPSHOT_TAG] == first_hash
    assert parent.data.tags["promotion.decision"] == "promoted"
    assert parent.data.metrics["baseline_mae"] == pytest.approx(result.baseline_mae)
    trained_runs = _runs(client)

    # Same data, nothing asks for training: the champion only serves; MLflow sees nothing.
    served = run_forecast(url, settings, config=SMALL)
    assert (served.trained, served.model_version, served.promotion) == (False, "1", None)
    assert served.run_id.startswith("serve-")
    assert _runs(client) == trained_runs

    # Asked to train again on the same data: the challenger is compared with the champion on
    # the same windows; whatever the decision, the champion's forecast is what is served.
    again = run_forecast(url, settings, config=SMALL, policy=RetrainPolicy(force=True))
    assert (again.trained, again.challenger_version) == (True, "2")
    decision = again.promotion
    assert decision is not None and decision["champion_version"] == "1"
    assert decision["days"] == 3 * HORIZON and decision["series"] == SERIES
    assert {"champion_mae", "challenger_mae", "p_value", "dm_statistic"} <= set(decision)
    champion_now = alias_version(client, CHAMPION)
    assert champion_now == ("2" if again.promoted else "1") == again.model_version
    assert alias_version(client, CHALLENGER) == "2"
    version_tag = client.get_model_version(REGISTERED_MODEL, "2").tags["promotion"]
    assert version_tag == ("promoted" if again.promoted else "kept")
    assert _table(url, "select distinct model_version from ml.demand_forecasts") == [
        (champion_now,)
    ]
    runs = _table(url, "select trained, promoted, model_version from ml.forecast_runs"
                  " order by created_at")  # fmt: skip
    assert runs == [(True, True, "1"), (False, None, "1"), (True, again.promoted, champion_now)]


def test_drift_is_raised_and_answered_by_retraining(settings: Settings) -> None:
    url = settings.database_url
    assert url is not None
    _write(url, n_days=100, end=END - timedelta(days=10))
    never_by_age = RetrainPolicy(retrain_every_days=1000)
    first = run_forecast(url, settings, config=SMALL, policy=never_by_age)
    assert first.trained
    # ten more days arrive, selling four times what was forecast
    _write(url, n_days=110, boost_last=10)
    second = run_forecast(url, settings, config=SMALL, policy=never_by_age)
    assert second.accuracy_days == 9  # the last day may still be filling: not yet judged
    assert second.drift_raised >= 1
    assert second.trained  # the drift asked for it
    accuracy = _table(
        url, "select level, count(*), avg(bias) from ml.forecast_accuracy group by 1 order by 1"
    )
    assert [(level, n) for level, n, _ in accuracy] == [
        ("region", 9),
        ("sku", 9),
        ("store", 9),
        ("total", 9),
    ]
    assert all(bias < -0.5 for _, _, bias in accuracy)  # forecast far below what sold
    drift = _table(url, "select level, metric, status, answered_by_run from ml.forecast_drift")
    assert drift and all(status == "retrained" for _, _, status, _ in drift)
    assert {run for *_, run in drift} == {second.run_id}
    assert ("sku", "bias") in {(level, metric) for level, metric, *_ in drift}
    # answered: the next run serves without training again
    third = run_forecast(url, settings, config=SMALL, policy=never_by_age)
    assert not third.trained and third.drift_raised == 0


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
