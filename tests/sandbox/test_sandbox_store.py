"""SandboxStore: sorted by cursor then id, upsert keeps the order, paging by binary search."""

from __future__ import annotations

import time

import pytest

from sandbox.clock import iso
from sandbox.scenario import Scenario
from sandbox.store import SandboxStore, sortable


def picking(picking_id: int, write_date: str, state: str = "assigned") -> dict:
    return {"id": picking_id, "write_date": write_date, "state": state}


def order(store: SandboxStore, system: str) -> list[tuple]:
    cursor = {"wms": "write_date", "tms": "updated_at"}[system]
    return [(r[cursor], r["id"]) for r in store.records(system)]


def test_loads_scenario_sorted_by_cursor_then_id() -> None:
    scenario = Scenario(seed=2, orders=120)
    store = SandboxStore.from_scenario(scenario)
    for system, cursor, key in (
        ("erp", "LastChangeDateTime", "SalesOrder"),
        ("crm", "SystemModstamp", "Id"),
        ("wms", "write_date", "id"),
        ("tms", "updated_at", "id"),
    ):
        rows = store.records(system)
        assert len(rows) == store.count(system) == len(scenario.records(system))
        keys = [(r[cursor], r[key]) for r in rows]
        assert keys == sorted(keys)


def test_upsert_replaces_and_moves_with_its_cursor() -> None:
    store = SandboxStore(
        {
            "wms": [
                picking(3, "2026-10-01T00:00:00Z"),
                picking(1, "2026-10-01T00:00:00Z"),
                picking(2, "2026-10-02T00:00:00Z"),
            ]
        }
    )
    assert order(store, "wms") == [
        ("2026-10-01T00:00:00Z", 1),
        ("2026-10-01T00:00:00Z", 3),
        ("2026-10-02T00:00:00Z", 2),
    ]
    store.upsert("wms", picking(1, "2026-10-03T00:00:00Z", "done"))
    assert order(store, "wms") == [
        ("2026-10-01T00:00:00Z", 3),
        ("2026-10-02T00:00:00Z", 2),
        ("2026-10-03T00:00:00Z", 1),
    ]
    assert store.get("wms", 1)["state"] == "done"
    store.upsert("wms", picking(0, "2026-10-02T00:00:00Z"))
    assert [key for _, key in order(store, "wms")] == [3, 0, 2, 1]
    assert store.count("wms") == 4


def test_upsert_copies_and_get_copies() -> None:
    store = SandboxStore()
    record = picking(7, "2026-10-01T00:00:00Z")
    store.upsert("wms", record)
    record["state"] = "cancel"
    got = store.get("wms", 7)
    assert got["state"] == "assigned"
    got["state"] = "done"
    assert store.get("wms", 7)["state"] == "assigned"
    assert store.get("wms", 8) is None


@pytest.mark.parametrize(
    "record",
    [
        {"id": 1, "write_date": "2026-10-01"},
        {"id": 1, "write_date": "2026-10-01T00:00:00.000Z"},
        {"id": 1},
        {"write_date": "2026-10-01T00:00:00Z"},
    ],
)
def test_upsert_rejects_records_without_a_proper_cursor_or_key(record: dict) -> None:
    with pytest.raises(ValueError):
        SandboxStore().upsert("wms", record)


def test_unknown_system_and_duplicate_keys() -> None:
    with pytest.raises(ValueError, match="unknown system"):
        SandboxStore().count("oms")
    with pytest.raises(ValueError, match="repeat"):
        SandboxStore(
            {"wms": [picking(1, "2026-10-01T00:00:00Z"), picking(1, "2026-10-02T00:00:00Z")]}
        )


def test_window_and_after() -> None:
    rows = [picking(n, iso(1_790_000_000 + 60 * (n // 2))) for n in range(10)]
    store = SandboxStore({"wms": rows})
    since = rows[4]["write_date"]
    page, total = store.window("wms", since, 1, 3)
    assert total == 6 and [r["id"] for r in page] == [5, 6, 7]
    page, more = store.after("wms", since, None, 4)
    assert [r["id"] for r in page] == [4, 5, 6, 7] and more
    page, more = store.after("wms", since, (rows[7]["write_date"], 7), 4)
    assert [r["id"] for r in page] == [8, 9] and not more
    page, more = store.after("wms", None, (rows[1]["write_date"], 1), 2)
    assert [r["id"] for r in page] == [2, 3] and more


def test_paging_100k_records_is_fast() -> None:
    base = 1_790_000_000
    store = SandboxStore(
        {"tms": [{"id": f"trk_{n:032x}", "updated_at": iso(base + n // 3)} for n in range(100_000)]}
    )
    started = time.perf_counter()
    for n in range(0, 100_000, 1_000):
        page, _ = store.after("tms", iso(base + n // 3), None, 100)
        assert page[0]["updated_at"] == iso(base + n // 3)
        store.window("tms", iso(base + n // 3), 500, 100)
    store.upsert("tms", {"id": "trk_" + "0" * 32, "updated_at": iso(base + 50_000)})
    assert time.perf_counter() - started < 1.0


def test_a_generated_scenario_is_served_as_built_on_read_byte_for_byte() -> None:
    scenario = Scenario(seed=3, orders=150)
    lazy, kept = (
        SandboxStore.from_scenario(scenario),
        SandboxStore({system: scenario.records(system) for system in ("erp", "crm", "wms", "tms")}),
    )
    for system in ("erp", "crm", "wms", "tms"):
        assert lazy.records(system) == kept.records(system)
        assert lazy.window(system, None, 40, 25) == kept.window(system, None, 40, 25)
        assert lazy.after(system, None, None, 10) == kept.after(system, None, None, 10)
    first = lazy.window("erp", None, 0, 1)[0][0]
    first["OverallSDProcessStatus"] = "changed by a reader"
    assert lazy.window("erp", None, 0, 1)[0][0] != first, "each read builds a new record"
    # the store keeps its cursors in one sortable form (the WMS writes Odoo's)
    assert lazy.last_cursor("wms") == sortable(max(r["write_date"] for r in kept.records("wms")))
    version = lazy.version("erp"), lazy.version("wms")
    lazy.upsert("erp", {**first, "LastChangeDateTime": "2030-01-01T00:00:00Z"})
    assert (lazy.version("erp"), lazy.version("wms")) == (version[0] + 1, version[1])
    assert lazy.records("erp")[-1]["OverallSDProcessStatus"] == "changed by a reader"


def test_every_read_of_a_wms_picking_is_a_record_of_its_own() -> None:
    # a picking is built with its order's others, which later reads hand out: each once
    scenario = Scenario(seed=3, orders=150)
    lazy = SandboxStore.from_scenario(scenario)
    expected = scenario.records("wms")
    for _ in range(3):
        served = lazy.records("wms")
        assert (
            served
            == lazy.records("wms")
            == sorted(expected, key=lambda r: (r["write_date"], r["id"]))
        )
        for record in served:
            record["state"] = "changed by a reader"
    assert all(r["state"] != "changed by a reader" for r in lazy.records("wms"))
    mixed = [lazy.get("wms", r["id"]) for r in reversed(expected)]
    assert mixed == list(reversed(expected))
    assert len({id(r) for r in mixed}) == len(mixed)
    # the same picking read twice after its order's first: two records
    by_order: dict[str, list[dict]] = {}
    for record in expected:
        by_order.setdefault(record["origin"], []).append(record)
    first, second, *_ = next(p for p in by_order.values() if len(p) == 3)
    assert lazy.get("wms", first["id"]) == first
    again = [lazy.get("wms", second["id"]) for _ in range(2)]
    assert again[0] == again[1] == second and again[0] is not again[1]


def test_a_trackers_head_is_its_place_without_building_it() -> None:
    """The TMS's list order is read from each tracker's head (created_at, id) without
    building it: the same fields the built tracker has, anomalies (late scans, unknown codes,
    misroutes) included."""
    store = SandboxStore.from_scenario(Scenario(seed=3, orders=400, anomalies=40))
    built = [{"created_at": r["created_at"], "id": r["id"]} for r in store.iter_records("tms")]
    heads = list(store.iter_heads("tms"))
    assert all(len(head) == 2 for head in heads)  # heads, not trackers built
    assert built and heads == built
