"""The messy scenario: reproducible, each class of trouble several ways, records the
connectors load as they are, rounds that only move cursors forward, a ground truth for
every order it shows, and a server that plays its rounds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from connectors.catalog import SYSTEMS
from connectors.validation import RecordCheck
from orderhub.canonical_model import EXCEPTION_TYPES
from orderhub.sources import API_SYSTEMS
from sandbox.credentials import SandboxCredentials
from sandbox.messy import MessyScenario
from sandbox.model import ANOMALY_EXCEPTIONS
from sandbox.server import SandboxServer
from sandbox.store import CURSOR_FIELD

#: The classes of trouble issue #10 names, each of which the scenario must show several ways.
CLASSES = ("shipments", "corrections", "clock_skew", "ties", "orphans", "codes", "noise")


@pytest.fixture(scope="module")
def messy() -> MessyScenario:
    return MessyScenario()


def test_same_as_of_same_records(messy: MessyScenario) -> None:
    again, later = MessyScenario(), MessyScenario(as_of=datetime(2027, 1, 5, 12, tzinfo=UTC))
    for n in range(1, messy.rounds + 1):
        for system in API_SYSTEMS:
            assert json.dumps(messy.world(n, system)) == json.dumps(again.world(n, system))
    assert json.dumps(messy.records("tms")) != json.dumps(later.records("tms"))
    assert messy.expected_orders(3) == again.expected_orders(3)


def test_every_class_several_ways(messy: MessyScenario) -> None:
    kinds = Counter(kind for _, kind, _ in messy.cases())
    for kind in CLASSES:
        assert kinds[kind] >= 2, kind
    names = [name for name, _, _ in messy.cases()]
    assert len(names) == len(set(names))


def test_every_exception_type_has_a_scenario_that_shows_it(messy: MessyScenario) -> None:
    shown = {row.exception_type for n in range(1, 4) for row in messy.expected_exceptions(n)}
    generated = {kind for kinds in ANOMALY_EXCEPTIONS.values() for kind in kinds}
    assert shown | generated == set(EXCEPTION_TYPES)
    assert {"status_conflict", "clock_skew", "orphan_record", "record_reassigned"} <= shown


def test_every_record_loads_as_it_is(messy: MessyScenario) -> None:
    # nothing is quarantined: the mess is in what the records say, not in their shape
    for system in API_SYSTEMS:
        connector = SYSTEMS[system]
        check = RecordCheck.for_stream(connector.manifest(), connector.streams[0].name)
        for n in range(1, messy.rounds + 1):
            for record in messy.world(n, system):
                slim = {k: v for k, v in record.items() if v is not None}
                assert check.problems(slim) == [], (system, record)


def test_rounds_only_move_cursors_forward(messy: MessyScenario) -> None:
    for system in API_SYSTEMS:
        field = CURSOR_FIELD[system]
        seen = max(r[field] for r in messy.records(system))
        for n in range(2, messy.rounds + 1):
            changed = [r[field] for r in messy.changes(n, system)]
            assert changed and min(changed) > seen, (system, n)
            seen = max(changed)


def test_round_two_loses_three_order_references(messy: MessyScenario) -> None:
    # the records a blocking check on the events' order reference fails on
    wms = [r for r in messy.changes(2, "wms") if r["origin"] is False]
    crm = [r for r in messy.changes(2, "crm") if r["OrderSummary"] is None]
    tms = [r for r in messy.changes(2, "tms") if r["reference"] is None]
    assert len(wms) == len(crm) == len(tms) == 1
    for system in ("wms", "tms", "crm"):
        assert all(
            r.get("origin", r.get("reference", r.get("OrderSummary"))) not in (None, False)
            for r in messy.changes(3, system)
        )


def test_ground_truth_for_every_order_of_every_round(messy: MessyScenario) -> None:
    for n in range(1, messy.rounds + 1):
        orders = messy.orders_at(n)
        assert {row.order_id for row in messy.expected_orders(n)} == set(orders)
        deciding = Counter(
            step.order_id for step in messy.expected_timeline(n) if step.decides_status
        )
        assert set(deciding.values()) == {1} and set(deciding) == set(orders)
    # orphans join up: 3000161 in round 2, 3000162 in round 3; 3000163 never
    assert {o for o, orphan in messy.orders_at(1).items() if orphan} == {
        "3000161", "3000162", "3000163",
    }  # fmt: skip
    assert {o for o, orphan in messy.orders_at(3).items() if orphan} == {"3000163"}


def test_the_server_plays_the_rounds(messy: MessyScenario) -> None:
    with SandboxServer(messy, SandboxCredentials.generate()) as server:
        assert httpx.get(f"{server.root_url}/").json()["round"] == 1
        served = {r["id"]: r for r in server.store.records("tms")}
        assert served == {r["id"]: r for r in messy.world(1, "tms")}
        for n in range(2, messy.rounds + 1):
            moved = httpx.post(f"{server.root_url}/rounds/next")
            assert moved.status_code == 200 and moved.json() == {"round": n, "rounds": 3}
            for system in API_SYSTEMS:
                key = {"erp": "SalesOrder", "crm": "Id", "wms": "id", "tms": "id"}[system]
                now = {r[key]: r for r in server.store.records(system)}
                assert now == {r[key]: r for r in messy.world(n, system)}, (system, n)
        assert httpx.post(f"{server.root_url}/rounds/next").status_code == 409
