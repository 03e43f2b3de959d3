"""Staging: raw records as sent become typed columns (an empty SAP status is BLANK)."""

from __future__ import annotations

from dbt_builds import Build


def test_blank_delivery_status_is_mapped(main_build: Build) -> None:
    assert main_build.query(
        "select distinct overall_total_delivery_status from staging.stg_erp__sales_orders"
        " where order_id = '1000007'"
    ) == [("BLANK",)]
    assert main_build.query(
        "select canonical_status, is_mapped from marts.fct_order_status_events"
        " where order_id = '1000007' and source_field = 'OverallTotalDeliveryStatus'"
    ) == [("placed", True)]
