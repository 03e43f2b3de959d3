"""fct_order_timeline (/order_timeline): each order's steps in event-time order, the one
that decides, regressions flagged, nodes placed."""

from __future__ import annotations

from dbt_builds import Build


def test_timeline_is_in_event_time_order(main_build: Build) -> None:
    steps = main_build.query(
        "select canonical_status, source_system, source_code, node"
        " from marts.fct_order_timeline where order_id = '1000001' order by step_number"
    )
    assert steps == [
        ("placed", "erp", "BLANK", "S01"),
        ("placed", "erp", "A", "S01"),
        ("placed", "erp", "A", "S01"),
        ("placed", "crm", "Draft", "WH1"),
        ("processing", "crm", "Allocated", "WH1"),
        ("processing", "erp", "A", "S01"),
        ("processing", "erp", "B", "S01"),
        ("processing", "wms", "assigned", "WH1"),
        ("processing", "wms", "done", "WH1"),
        ("processing", "wms", "done", "WH1"),
        ("processing", "tms", "pre_transit", "Berlin"),
        ("in_transit", "wms", "done", "WH1"),
        ("processing", "erp", "C", "S01"),
        ("in_transit", "erp", "C", "S01"),
        ("in_transit", "crm", "Fulfilled", "WH1"),
        ("in_transit", "tms", "in_transit", "Hamburg"),
        ("in_transit", "tms", "out_for_delivery", "Munich"),
        ("delivered", "tms", "delivered", "Munich"),
    ]
    # the late-arriving older WMS state sits where it happened, before the newer one
    assert main_build.query(
        "select canonical_status, source_code from marts.fct_order_timeline"
        " where order_id = '1000002' and source_system = 'wms' order by step_number"
    ) == [("on_hold", "confirmed"), ("processing", "assigned")]
    # one step of every order decides its current status ...
    assert (
        main_build.query(
            "select c.order_id from marts.fct_order_current_status as c"
            " left join marts.fct_order_timeline as t"
            " on t.order_id = c.order_id and t.decides_status"
            " where t.event_id is distinct from c.status_event_id"
        )
        == []
    )
    # ... the last one, except when the last one is a regression after a terminal state
    assert main_build.query(
        "select order_id, canonical_status, source_system, is_regression, decides_status"
        " from marts.fct_order_timeline where is_last_step and not decides_status"
    ) == [("1000005", "in_transit", "wms", True, False)]
    # stores and warehouses are placed by the locations seed, carrier locations as reported
    assert main_build.query(
        "select distinct node_type, node, node_city, node_country from api.order_timeline"
        " where order_id = '1000001' and source_system in ('erp', 'wms', 'tms')"
        " and node in ('S01', 'WH1', 'Munich') order by 1, 2"
    ) == [
        ("carrier_location", "Munich", "Munich", "DE"),
        ("store", "S01", "Hamburg", "DE"),
        ("warehouse", "WH1", "Kassel", "DE"),
    ]
