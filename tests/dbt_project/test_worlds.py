"""The sandbox's scenarios built by the dbt project: the api serves exactly each messy
round's ground truth, the generated scenario's statuses and exceptions are what its stages
and anomalies imply, and on both an incremental build equals a full one."""

from __future__ import annotations

import pytest
from dbt_builds import MART_TABLES
from dbt_worlds import AS_OF, WorldBuilds

from sandbox.scenario import Scenario


@pytest.mark.parametrize("round_number", [1, 2, 3])
def test_messy_rounds_serve_the_ground_truth(messy: WorldBuilds, round_number: int) -> None:
    built = messy.rounds[round_number - 1]
    assert built.success, built.not_passing()
    assert messy.differences[round_number - 1] == []


def _incremental_equals_full(builds: WorldBuilds, world: str) -> None:
    assert builds.full.success, builds.full.not_passing()
    for table in MART_TABLES:
        assert builds.incremental[table] == builds.full_tables[table], table
    rounds = [round(b.seconds, 1) for b in builds.rounds]
    print(f"dbt builds ({world}): rounds {rounds} s, full {builds.full.seconds:.1f} s")


# one test per world, each naming its world as a fixture: the suite's scheduler groups a
# test by the session worlds it names (tests/conftest.py), so each world is built on one
# worker only (a world taken with request.getfixturevalue was built again on another)
def test_incremental_builds_equal_a_full_build_messy(messy: WorldBuilds) -> None:
    _incremental_equals_full(messy, "messy")


def test_incremental_builds_equal_a_full_build_generated(generated: WorldBuilds) -> None:
    _incremental_equals_full(generated, "generated")


def test_generated_scenario_statuses_and_exceptions(generated: WorldBuilds) -> None:
    scenario = Scenario(seed=11, orders=80, as_of=AS_OF)
    last = generated.rounds[-1]
    assert last.success, last.not_passing()
    statuses = dict(last.query("select order_id, canonical_status from api.orders"))
    assert statuses == scenario.expected_status()
    found: dict[str, set[str]] = {}
    for order_id, kind in last.query("select order_id, exception_type from api.order_exceptions"):
        found.setdefault(order_id, set()).add(kind)
    assert found == scenario.expected_exceptions()


def test_event_ids_hash_the_code_as_sent(messy: WorldBuilds) -> None:
    # the id of an event is the one its record always gave it (audit bundles name it): the
    # code as sent, whatever the code it is matched as
    built = messy.full
    assert built.query(
        "select count(*) from marts.fct_order_status_events where event_id <> md5(concat_ws("
        "'|', source_system, source_record_key, source_field, coalesce(source_code, ''),"
        " to_char(event_time at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))"
    ) == [(0,)]
    variants = built.query(
        "select distinct source_system, source_code, normalised_code"
        " from marts.fct_order_status_events where source_code <> normalised_code"
    )
    for variant in (
        ("tms", "Delivered ", "delivered"),
        ("tms", "DELIVERED", "delivered"),
        ("erp", " ", "BLANK"),
        ("erp", " B", "B"),
        ("wms", "Done", "done"),
        ("crm", "PICK COMPLETE", "Pick Complete"),
    ):
        assert variant in variants, variant
