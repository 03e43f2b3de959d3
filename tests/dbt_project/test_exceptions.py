"""fct_order_exceptions (/order_exceptions): the union of the rule models
int_order_exceptions__<type>, one row per exception, on the main scenario."""

from __future__ import annotations

from dbt_builds import Build
from dbt_records import at


def test_exceptions(main_build: Build) -> None:
    assert main_build.query("select * from marts.fct_unmapped_status_codes") == []
    rows = main_build.query(
        "select e.order_id, e.exception_type, e.severity, e.systems, e.detected_since,"
        " array(select s.source_code from unnest(e.event_ids) with ordinality as u(id, n)"
        "       join marts.fct_order_status_events as s on s.event_id = u.id order by u.n)"
        " from marts.fct_order_exceptions as e order by e.order_id"
    )
    assert rows == [
        ("1000004", "terminal_conflict", "error", ["erp", "tms"], at(30), ["delivered", "C"]),
        (
            "1000005",
            "regression_after_terminal",
            "warning",
            ["tms", "wms"],
            at(22),
            ["delivered", "done"],
        ),
        ("1000006", "misroute", "error", ["tms"], at(30), ["delivered"]),
        # the goods issue (delivery status C) at 2h, while the payment was PENDING (the
        # same ERP version: equal times, in event id order)
        ("1000008", "shipped_before_payment", "error", ["erp"], at(2), ["PENDING", "C"]),
        # on hold since -399h; the on_hold SLA of web orders is 168h
        ("1000009", "stuck_beyond_sla", "error", ["wms"], at(-399 + 168), ["confirmed"]),
    ]
    details = dict(
        main_build.query("select order_id, details from api.order_exceptions order by 1")
    )
    assert details["1000006"]["ship_to_country"] == "DE"
    assert details["1000006"]["delivered_in_country"] == "FR"
    assert details["1000006"]["events"][0]["node"] == "Strasbourg"
    assert details["1000008"]["payment_state"] == "unpaid"
    stuck = details["1000009"]
    assert (stuck["canonical_status"], stuck["sla_hours"]) == ("on_hold", 168)
    # the clock is the latest extraction (the carrier's batch at 32h), not the latest event
    # time (30h): on hold for 431 hours
    assert stuck["as_of"].startswith(at(32).strftime("%Y-%m-%dT%H:%M:%S"))
    assert stuck["hours_in_status"] == 431
