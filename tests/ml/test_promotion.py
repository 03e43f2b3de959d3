"""Champion and challenger: the margin, the Diebold-Mariano test, the decision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.promotion import compare, decide, diebold_mariano

CUTOFFS = pd.to_datetime(["2026-09-01", "2026-09-08", "2026-09-15"])


def _forecasts(error_scale: float, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    truth = np.random.default_rng(0)
    for cutoff in CUTOFFS:
        days = pd.date_range(cutoff + pd.Timedelta(days=1), periods=14)
        for uid in range(30):
            y = truth.poisson(10, len(days)).astype(float)
            y_hat = y + rng.normal(shift, error_scale, len(days))
            rows.append(
                pd.DataFrame(
                    {"unique_id": f"s{uid}", "cutoff": cutoff, "ds": days, "y": y, "y_hat": y_hat}
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_dm_finds_a_clear_improvement_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    statistic, p = diebold_mariano(rng.normal(0.5, 1.0, 60), horizon=14)
    assert statistic > 0 and p < 0.05
    _, p_noise = diebold_mariano(rng.normal(0.0, 1.0, 60), horizon=14)
    assert p_noise > 0.05
    # a window as long as the horizon cannot show anything
    assert diebold_mariano(rng.normal(1.0, 0.1, 14), horizon=14)[1] > 0.05


def test_a_clearly_better_challenger_is_promoted() -> None:
    champion = _forecasts(3.0, seed=1)
    challenger = _forecasts(1.5, seed=2)
    comparison = compare(champion, challenger, horizon=14)
    assert comparison.improvement > 0.4
    assert comparison.days == 3 * 14 and comparison.series == 30
    decision = decide(comparison, "2", "1")
    assert decision.promoted
    assert "below the champion" in decision.reason
    assert decision.record()["p_value"] == comparison.p_value


def test_a_challenger_within_the_margin_or_not_significant_is_not() -> None:
    champion = _forecasts(2.0, seed=1)
    close = compare(champion, _forecasts(1.98, seed=3), horizon=14)
    decision = decide(close, "2", "1", margin=0.05)
    assert not decision.promoted
    assert "margin" in decision.reason
    worse = decide(compare(champion, _forecasts(3.0, seed=4), horizon=14), "3", "1")
    assert not worse.promoted


def test_the_first_model_is_promoted_and_nothing_in_common_is_an_error() -> None:
    assert decide(None, "1", None).promoted
    other = _forecasts(1.0, seed=5).assign(unique_id="elsewhere")
    with pytest.raises(ValueError, match="no common"):
        compare(_forecasts(1.0, seed=1), other, horizon=14)
