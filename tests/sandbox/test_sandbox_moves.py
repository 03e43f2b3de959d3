"""The default scenario's later rounds (``--moves``): a share of the orders, the newest,
moved on between two syncs, twice, as the server serves it after ``POST /rounds/next``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from orderhub.sources import API_SYSTEMS
from sandbox.clock import instant_seconds
from sandbox.credentials import SandboxCredentials
from sandbox.scenario import Scenario
from sandbox.server import SandboxServer
from sandbox.store import CURSOR_FIELD, KEY_FIELD
from sandbox.worlds import build

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
KEY = KEY_FIELD


def _keyed(system: str, records: list[dict]) -> dict:
    return {r[KEY[system]]: r for r in records}


def test_moves_play_two_more_rounds_of_the_newest_orders() -> None:
    still = Scenario(seed=5, orders=200, as_of=AS_OF)
    assert still.rounds == 1 and still.moved_orders() == []
    with pytest.raises(ValueError, match="no round 2"):
        still.changes(2, "erp")
    world = Scenario(seed=5, orders=200, as_of=AS_OF, moves=0.05)
    assert world.rounds == 3
    assert [o.order_id for o in world.moved_orders()] == [o.order_id for o in world][-10:]
    assert "rounds 2 and 3 move the newest 10 on" in world.describe()
    with pytest.raises(ValueError, match="no round 4"):
        world.changes(4, "erp")
    # a share that rounds to nothing still moves one order
    assert len(Scenario(seed=5, orders=20, as_of=AS_OF, moves=0.001).moved_orders()) == 1


def test_a_moved_record_is_the_next_version_stamped_with_the_time_of_the_change() -> None:
    world = Scenario(seed=5, orders=300, as_of=AS_OF, moves=0.1)
    moved_ids = {o.order_id for o in world.moved_orders()}
    before = int(time.time())
    for system in ("erp", "crm", "wms"):
        old = _keyed(system, world.records(system))
        new = _keyed(system, world.changes(2, system))
        assert new and set(new) <= set(old)
        expected = [k for k, r in old.items() if _order(system, r) in moved_ids]
        assert sorted(new) == sorted(expected), system
        for key, record in new.items():
            cursor = CURSOR_FIELD[system]
            assert instant_seconds(record[cursor]) >= before, (system, key)
            assert {k: v for k, v in record.items() if k != cursor} == {
                k: v for k, v in old[key].items() if k != cursor
            }
    old_trackers = _keyed("tms", world.records("tms"))
    new_trackers = _keyed("tms", world.changes(2, "tms"))
    moving = [
        k
        for k, r in old_trackers.items()
        if r["reference"] in moved_ids and r["status"] not in ("delivered", "return_to_sender")
    ]
    assert new_trackers and sorted(new_trackers) == sorted(moving)
    for key, tracker in new_trackers.items():
        assert len(tracker["tracking_details"]) == len(old_trackers[key]["tracking_details"]) + 1
    # round 3 moves each on once more: the next detail after round 2's, a later cursor
    third = _keyed("tms", world.changes(3, "tms"))
    for key in set(third) & set(new_trackers):
        assert third[key]["tracking_details"][:-1] == new_trackers[key]["tracking_details"]
    erp_2, erp_3 = (_keyed("erp", world.changes(n, "erp")) for n in (2, 3))
    cursor = CURSOR_FIELD["erp"]
    assert all(instant_seconds(erp_3[k][cursor]) > instant_seconds(erp_2[k][cursor]) for k in erp_2)


def _order(system: str, record: dict) -> str:
    if system == "crm":
        return record["OrderSummary"]["OrderNumber"]
    return record[{"erp": "SalesOrder", "wms": "origin"}[system]]


def test_a_share_outside_0_to_1_or_another_world_is_refused() -> None:
    with pytest.raises(ValueError, match=r"moves must be a share of the orders, 0 to 1, got 1\.5"):
        Scenario(orders=10, as_of=AS_OF, moves=1.5)
    with pytest.raises(ValueError, match="--moves applies to the default scenario, not to 'messy'"):
        build("messy", seed=1, orders=10, anomalies=0, as_of=AS_OF, moves=0.1)


def test_the_server_serves_the_moved_records_after_rounds_next() -> None:
    world = Scenario(seed=9, orders=120, as_of=AS_OF, moves=0.05)
    with SandboxServer(world, SandboxCredentials.generate()) as server:
        first = {s: _keyed(s, server.store.records(s)) for s in API_SYSTEMS}
        moved = httpx.post(f"{server.root_url}/rounds/next")
        assert moved.status_code == 200 and moved.json() == {"round": 2, "rounds": 3}
        changed = 0
        for system in API_SYSTEMS:
            now = _keyed(system, server.store.records(system))
            assert set(now) == set(first[system])  # moved on, nothing added or lost
            differ = {k for k in now if now[k] != first[system][k]}
            orders = {_order_or_reference(system, now[k]) for k in differ}
            assert orders <= {o.order_id for o in world.moved_orders()}, system
            changed += len(differ)
        assert changed >= len(world.moved_orders())
        assert httpx.post(f"{server.root_url}/rounds/next").json()["round"] == 3
        assert httpx.post(f"{server.root_url}/rounds/next").status_code == 409


def _order_or_reference(system: str, record: dict) -> str:
    return record["reference"] if system == "tms" else _order(system, record)
