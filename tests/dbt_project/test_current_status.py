"""fct_order_current_status (/orders): one status per order, decided by its timeline."""

from __future__ import annotations

from dbt_builds import Build
from dbt_records import at
from dbt_scenarios import EXPECTED_STATUS


def test_current_status_per_order(main_build: Build) -> None:
    rows = main_build.query(
        "select order_id, canonical_status, status_source_system, status_source_code, updated_at"
        " from marts.fct_order_current_status"
    )
    got = {order: (status, system, code, at_) for order, status, system, code, at_ in rows}
    assert set(got) == set(EXPECTED_STATUS)
    for order, (status, system, code, hours) in EXPECTED_STATUS.items():
        assert got[order][0] == status, order
        assert got[order][1] == system, order
        if code is not None:
            assert got[order][2] == code, order
        assert got[order][3] == at(hours), order
    # the api view serves the same
    api = dict(main_build.query("select order_id, canonical_status from api.orders"))
    assert api == {order: value[0] for order, value in EXPECTED_STATUS.items()}


def test_status_since_and_payment(main_build: Build) -> None:
    rows = main_build.query(
        "select order_id, status_since, payment_state, payment_source_code, regression_count"
        " from api.orders where order_id in ('1000001', '1000005', '1000008', '1000009')"
        " order by 1"
    )
    assert rows == [
        ("1000001", at(27), None, None, 0),
        ("1000005", at(20), None, None, 1),
        # in transit since its parcel left the warehouse (the ERP's goods issue before it is
        # the order's own paperwork, not the parcel's); the payment never decided anything
        ("1000008", at(3), "unpaid", "PENDING", 0),
        ("1000009", at(-399), "paid", "PAID", 0),
    ]
