"""The main scenario's build passes, every unit test of the project included."""

from __future__ import annotations

from dbt_builds import Build

#: the project's unit tests, by the model they test
UNIT_TESTS = {
    "stg_erp__sales_orders": ["test_stg_erp__sales_orders_blank_delivery_status"],
    "fct_order_timeline": ["test_fct_order_timeline_ordering_ties_and_regressions"],
    "fct_order_current_status": ["test_fct_order_current_status_from_the_deciding_step"],
    "int_order_exceptions__unmapped_status_code": [
        "test_unmapped_status_code_fires_on_unknown_codes"
    ],
    "int_order_exceptions__terminal_conflict": [
        "test_terminal_conflict_needs_two_systems_and_statuses"
    ],
    "int_order_exceptions__regression_after_terminal": [
        "test_regression_after_terminal_only_backwards"
    ],
    "int_order_exceptions__misroute": ["test_misroute_by_country_or_region"],
    "int_order_exceptions__shipped_before_payment": [
        "test_shipped_before_payment_in_prepaid_channels"
    ],
    "int_order_exceptions__stuck_beyond_sla": ["test_stuck_beyond_sla_at_the_data_time"],
    "fct_order_exceptions": ["test_fct_order_exceptions_one_row_per_exception"],
    "fct_order_tags": ["test_fct_order_tags_rules_compile_to_sql"],
}


def test_build_succeeds_with_unit_tests(main_build: Build) -> None:
    bad = main_build.not_passing()
    assert main_build.success, bad
    assert bad == {}
    ran = {uid for uid in main_build.results if uid.startswith("unit_test.")}
    assert ran == {
        f"unit_test.orderhub.{model}.{name}"
        for model, names in UNIT_TESTS.items()
        for name in names
    }
    for names in UNIT_TESTS.values():
        for name in names:
            assert main_build.status_of(name) == "pass", name
    assert main_build.status_of("assert_no_unmapped_status_codes") == "pass"
    print(f"dbt build (main scenario): {main_build.seconds:.1f} s")
