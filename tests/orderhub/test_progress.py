"""Progress output: ``say``, the dbt stdout filter, and the ``progress`` Dagster logger.

The logger is exercised on a real in-process Dagster run of a tiny asset graph: a step
whose checks pass, a step that fails, and a step whose check fails. (No ``from __future__
import annotations`` here: Dagster reads the ``context`` annotation of an asset at definition.)
"""

import contextlib
import io
import re
import sys

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Definitions,
    MaterializeResult,
    asset,
    asset_check,
)

from orchestration.progress_logger import LOGGERS
from orderhub.progress import dbt_output_summarised, say

LINE = re.compile(r"^\[\s*\d+\.\ds\] (?P<text>.*)$")


def texts(output: str) -> list[str]:
    """The progress lines of ``output`` without their timestamps (every line must have one)."""
    lines = output.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), f"lines without a timestamp in {lines}"
    return [m["text"] for m in matches if m]


def test_say_prints_one_timestamped_line(capsys: pytest.CaptureFixture[str]) -> None:
    say("warehouse: starting")
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    assert texts(out) == ["warehouse: starting"]


def test_dbt_output_keeps_summary_and_problems(capsys: pytest.CaptureFixture[str]) -> None:
    red, green, yellow, reset = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m"
    dbt_stream = [
        f"{reset}09:00:01  Running with dbt=1.11.0",
        f"{reset}09:00:02  1 of 40 START sql view model staging.stg_wms__pickings ... [RUN]",
        f"{reset}09:00:02  1 of 40 OK created sql view model ... [{green}CREATE VIEW{reset}]",
        f"{reset}09:00:03  2 of 40 {red}FAIL{reset} 3 not_null_fct_events_order_id ... [FAIL 3]",
        f"{reset}09:00:03  3 of 40 {yellow}WARN{reset} 1 source_not_null_erp_record_key",
        f"{reset}09:00:03  {red}Compilation Error{reset} in model fct_daily_demand",
        f"{reset}09:00:04  Finished running 12 view models, 28 data tests in 3.00s.",
        f"{reset}09:00:04  Done. PASS=37 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=40",
    ]
    with dbt_output_summarised():
        # dbt writes in pieces; a line counts once its newline has arrived
        print(dbt_stream[0][:10], end="")
        print(dbt_stream[0][10:])
        print("\n".join(dbt_stream[1:]))
        say("between dbt lines")
    kept = texts(capsys.readouterr().out)
    assert kept == [
        "  dbt: 09:00:03  2 of 40 FAIL 3 not_null_fct_events_order_id ... [FAIL 3]",
        "  dbt: 09:00:03  3 of 40 WARN 1 source_not_null_erp_record_key",
        "  dbt: 09:00:03  Compilation Error in model fct_daily_demand",
        "  dbt: 09:00:04  Finished running 12 view models, 28 data tests in 3.00s.",
        "  dbt: 09:00:04  Done. PASS=37 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=40",
        "between dbt lines",
    ]
    assert not any("\x1b" in line for line in kept)


def test_dbt_output_filter_is_removed_afterwards(capsys: pytest.CaptureFixture[str]) -> None:
    terminal = sys.stdout
    with dbt_output_summarised():
        assert sys.stdout is not terminal
        print("1 of 2 OK created sql view model staging.stg_wms__pickings")
    assert sys.stdout is terminal
    print("plain output again")
    assert capsys.readouterr().out == "plain output again\n"


# -- the progress logger on a real Dagster run ------------------------------------------


@asset(
    check_specs=[
        AssetCheckSpec("has_rows", asset="orders"),
        AssetCheckSpec("keys_unique", asset="orders"),
    ]
)
def orders(context: AssetExecutionContext) -> MaterializeResult:
    context.log.info("3 records loaded\nsecond line is not shown")
    return MaterializeResult(
        check_results=[
            AssetCheckResult(check_name="has_rows", passed=True),
            AssetCheckResult(check_name="keys_unique", passed=True),
        ]
    )


@asset(deps=[orders])
def forecast() -> None:
    raise RuntimeError("forecast needs 28 days of demand, got 3")


@asset
def timeline() -> int:
    return 1


@asset_check(asset=timeline)
def timeline_ordered() -> AssetCheckResult:
    return AssetCheckResult(passed=False, description="2 steps out of order")


@asset_check(asset=timeline)
def timeline_complete() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False, severity=AssetCheckSeverity.WARN, description="1 order has no events\nmore"
    )


@pytest.fixture(scope="module")
def run_output() -> list[str]:
    """The progress lines of one run of the tiny graph (the run itself fails)."""
    defs = Definitions(
        assets=[orders, forecast, timeline],
        asset_checks=[timeline_ordered, timeline_complete],
        loggers=LOGGERS,
    )
    job = defs.resolve_implicit_global_asset_job_def()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = job.execute_in_process(
            run_config={"loggers": {"progress": {}}}, raise_on_error=False
        )
    assert not result.success
    return texts(out.getvalue())


def test_progress_logger_reports_steps_and_passed_checks(run_output: list[str]) -> None:
    assert "start orders" in run_output
    assert "done  orders (2 checks passed)" in run_output
    assert run_output.index("start orders") < run_output.index("done  orders (2 checks passed)")
    assert "start timeline" in run_output and "done  timeline" in run_output


def test_progress_logger_names_the_error_of_a_failed_step(run_output: list[str]) -> None:
    assert "start forecast" in run_output
    assert "FAILED forecast: RuntimeError: forecast needs 28 days of demand, got 3" in run_output
    assert not any(line.startswith("done  forecast") for line in run_output)


def test_progress_logger_reports_a_failed_check(run_output: list[str]) -> None:
    assert "  check timeline:timeline_ordered FAILED: 2 steps out of order" in run_output


def test_progress_logger_reports_a_warning_check_as_non_blocking(run_output: list[str]) -> None:
    expected = "  check timeline:timeline_complete WARNING (non-blocking): 1 order has no events"
    assert expected in run_output


def test_progress_logger_shows_first_line_of_log_messages(run_output: list[str]) -> None:
    assert "  orders: 3 records loaded" in run_output
    assert not any("second line" in line for line in run_output)


def test_progress_logger_skips_dagster_debug_stream(run_output: list[str]) -> None:
    allowed = re.compile(r"^(start |done  |FAILED |  )")
    assert all(allowed.match(line) for line in run_output), run_output
    assert not any("STEP_" in line or "RUN_" in line for line in run_output)
