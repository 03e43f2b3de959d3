"""Test helper: one forecast run's record, as ``ml.forecast_runs`` keeps it and as the
forecast stage reports it (``ForecastResult.of``)."""

from __future__ import annotations

from datetime import UTC, datetime

from ml.store import RunRecord

RUN = RunRecord(
    run_id="r1",
    created_at=datetime(2026, 10, 1, tzinfo=UTC),
    model_name="orderhub-demand",
    model_version="1",
    horizon_days=2,
    series=2,
    model_mae=1.0,
    baseline_mae=2.0,
    model_wape=0.1,
    baseline_wape=0.2,
    data_snapshot_hash="ab" * 32,
)
