"""The main scenario's build passes, every unit test of the project included."""

from __future__ import annotations

from dbt_builds import Build

#: the project's unit tests, by the model they test
UNIT_TESTS = {
    "stg_erp__sales_orders": [
        "test_stg_erp__sales_orders_blank_delivery_status",
        "test_stg_erp__sales_orders_odata_v2_dates",
    ],
    "stg_wms__warehouses": ["test_stg_wms__warehouses_archived_is_flagged"],
    "int_source_records__latest": ["test_int_source_records__latest_the_latest_version_decides"],
    "int_order_events__mapped": ["test_int_order_events__mapped_normalised_skewed_and_moved"],
    "int_order_steps__scoped": ["test_int_order_steps__scoped_shipments_and_returns"],
    "int_order_steps__flagged": ["test_int_order_steps__flagged_order_ties_and_regressions"],
    "int_order_steps__decided": ["test_int_order_steps__decided_rolls_shipments_up"],
    "fct_order_current_status": ["test_fct_order_current_status_from_the_deciding_step"],
    "fct_shipment_current_status": ["test_fct_shipment_current_status_per_parcel"],
    "fct_lane_transit_times": ["test_fct_lane_transit_times_at_every_level"],
    "fct_delivery_estimates": ["test_fct_delivery_estimates_carrier_then_lane"],
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
    "int_order_exceptions__stuck_beyond_sla": ["test_stuck_beyond_sla_at_the_extraction_time"],
    "int_order_exceptions__status_conflict": ["test_status_conflict_at_the_same_instant"],
    "int_order_exceptions__clock_skew": ["test_clock_skew_per_skewed_event"],
    "int_order_exceptions__orphan_record": ["test_orphan_record_until_the_erp_order_arrives"],
    "int_order_exceptions__record_reassigned": ["test_record_reassigned_on_both_orders"],
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
    assert main_build.status_of("assert_status_fields_cover_the_crosswalk") == "pass"
    print(f"dbt build (main scenario): {main_build.seconds:.1f} s")
