"""The validation and model-training event payloads carry what the issue asks of them, and
what the product's event kinds (orderhub.provenance) require."""

from __future__ import annotations

from ledger.canonical import canonical_json
from ml.forecast import ForecastResult
from orchestration.provenance import model_training_event, validation_event
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
    )
    event = validation_event(outcome)
    assert event == {
        "suite": "order_status_events",
        "suite_version": "sha256:3b9c",
        "table": "marts.fct_order_status_events",
        "success": False,
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
    result = ForecastResult(
        run_id="5f2e",
        model_name="demand_lightgbm",
        model_version="3",
        series=120,
        horizon_days=14,
        model_mae=2.45,
        baseline_mae=3.1,
        model_wape=0.21,
        baseline_wape=0.27,
        rows_written=1680,
        data_snapshot_hash="sha256:aa11",
    )
    event = model_training_event(result)
    assert event["mlflow_run_id"] == "5f2e"
    assert event["data_snapshot_hash"] == "sha256:aa11"
    assert event["metrics"] == {
        "model_mae": 2.45,
        "baseline_mae": 3.1,
        "model_wape": 0.21,
        "baseline_wape": 0.27,
    }
    assert (event["model_name"], event["model_version"], event["rows_written"]) == (
        "demand_lightgbm",
        "3",
        1680,
    )
    canonical_json(event)
    PROVENANCE_KINDS.check("model_training", event)
    assert set(event) == PROVENANCE_KINDS["model_training"]
