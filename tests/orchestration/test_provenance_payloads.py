"""The validation and model-training event payloads carry what the issue asks of them, and
what the product's event kinds (orderhub.provenance) require."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from forecast_runs import RUN

from ledger.canonical import canonical_json
from ml.forecast import ForecastResult
from orchestration.provenance import (
    model_promotion_event,
    model_training_event,
    validation_event,
)
from orderhub.provenance import PROVENANCE_KINDS
from quality.runner import ExpectationOutcome, ValidationOutcome


def test_validation_event_names_suite_version_result_and_each_expectation() -> None:
    outcome = ValidationOutcome(
        suite="order_status_events",
        suite_version="sha256:3b9c",
        table="marts.fct_order_status_events",
        success=False,
        expectations=(
            ExpectationOutcome("expect_column_values_to_not_be_null", "event_id", True, 0, []),
            ExpectationOutcome(
                "expect_column_values_to_be_in_set", "source_system", False, 3, ["x"]
            ),
        ),
        rows_since=datetime(2026, 10, 1, tzinfo=UTC),
    )
    event = validation_event(outcome)
    assert event == {
        "suite": "order_status_events",
        "suite_version": "sha256:3b9c",
        "table": "marts.fct_order_status_events",
        "success": False,
        "rows_since": "2026-10-01T00:00:00.000000Z",
        "expectations": 2,
        "results": [
            {
                "type": "expect_column_values_to_not_be_null",
                "column": "event_id",
                "success": True,
                "unexpected_count": 0,
            },
            {
                "type": "expect_column_values_to_be_in_set",
                "column": "source_system",
                "success": False,
                "unexpected_count": 3,
            },
        ],
        "failed": [
            {
                "type": "expect_column_values_to_be_in_set",
                "column": "source_system",
                "unexpected_count": 3,
            }
        ],
    }
    canonical_json(event)  # a valid RFC 8785 leaf
    PROVENANCE_KINDS.check("validation", event)
    assert set(event) == PROVENANCE_KINDS["validation"]


def test_model_training_event_names_run_data_snapshot_and_metrics() -> None:
    result = ForecastResult.of(RUN, rows_written=1680)
    event = model_training_event(result)
    assert event["mlflow_run_id"] == "r1"
    assert event["data_snapshot_hash"] == "ab" * 32
    assert event["metrics"] == {
        "model_mae": 1.0,
        "baseline_mae": 2.0,
        "model_wape": 0.1,
        "baseline_wape": 0.2,
        "model_mase": None,
        "baseline_mase": None,
        "coverage_80": None,
        "coverage_95": None,
    }
    assert (event["model_name"], event["model_version"], event["rows_written"]) == (
        "orderhub-demand",
        "1",
        1680,
    )
    assert (event["series"], event["horizon_days"]) == (2, 2)
    canonical_json(event)
    PROVENANCE_KINDS.check("model_training", event)
    assert set(event) == PROVENANCE_KINDS["model_training"]


def test_model_promotion_event_carries_the_decision_and_its_numbers() -> None:
    decision = {
        "promoted": False,
        "reason": "the champion keeps serving: MAE +0.5% vs a 2% margin",
        "champion_version": "3",
        "challenger_version": "4",
        "margin": 0.02,
        "alpha": 0.05,
        "test": "diebold-mariano (HLN, one-sided)",
        "champion_mae": 2.0,
        "challenger_mae": 1.99,
        "improvement": 0.005,
        "dm_statistic": 0.4,
        "p_value": 0.35,
        "days": 42,
        "series": 12,
    }
    result = ForecastResult.of(replace(RUN, model_version="3"), 24, promotion=decision)
    event = model_promotion_event(result)
    assert (event["challenger_version"], event["champion_version"]) == ("4", "3")
    assert (event["promoted"], event["serving_version"]) == (False, "3")
    assert event["comparison"]["p_value"] == 0.35 and event["comparison"]["days"] == 42
    canonical_json(event)
    PROVENANCE_KINDS.check("model_promotion", event)
    assert set(event) == PROVENANCE_KINDS["model_promotion"]
    first = model_promotion_event(
        ForecastResult.of(RUN, 24, promotion={"promoted": True, "reason": "no champion yet"})
    )
    assert first["comparison"] is None and first["promoted"] is True
    PROVENANCE_KINDS.check("model_promotion", first)
