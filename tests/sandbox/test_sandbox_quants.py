"""The WMS's stock kept up with the pickings (sandbox/quant_tally.py): after every change -
pickings done or cancelled, new ones, deleted ones, the clock (the last write_date) moved
either way - StockBook.refresh serves exactly what quant_records derives from every picking,
and it gets there without walking every picking again; the store's change logs it reads."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import sandbox.stock
import sandbox.store
from sandbox.clock import odoo, parse_instant
from sandbox.scenario import Scenario
from sandbox.stock import RATE_DAYS, StockBook, quant_records
from sandbox.store import SandboxStore

DAY = 86_400
Record = dict[str, Any]


@contextmanager
def no_full_walk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refreshes in the block may not fall back on the walk over every picking."""

    def refused(store: SandboxStore) -> list[Record]:
        raise AssertionError("refresh walked every picking")

    with monkeypatch.context() as patch:
        patch.setattr(sandbox.stock, "quant_records", refused)
        yield


def served(book: StockBook, monkeypatch: pytest.MonkeyPatch, *, walk: bool = False) -> list:
    """The quants the WMS serves after a refresh, checked against every picking's sums."""
    if walk:
        book.refresh()
    else:
        with no_full_walk(monkeypatch):
            book.refresh()
    quants = book.store.records("wms_quants")
    assert quants == quant_records(book.store)
    assert book.store.records("wms_warehouses") == book.warehouses()
    return quants


def now_of(store: SandboxStore) -> int:
    return int(parse_instant(store.last_cursor("wms") or ""))


def delivery(picking_id: int, created: int, written: int, state: str = "assigned") -> Record:
    """A new OUT picking of WH1: 3 units of SKU-001 and 2 of SKU-002."""
    moves = [{"product": "SKU-001", "quantity": 3.0}, {"product": "SKU-002", "quantity": 2.0}]
    return {
        "id": picking_id,
        "picking_type_code": "OUT",
        "state": state,
        "warehouse": "WH1",
        "create_date": odoo(created),
        "write_date": odoo(written),
        "move_ids": moves,
    }


def outs(store: SandboxStore, *states: str) -> list[Record]:
    return [
        r for r in store.records("wms") if r["picking_type_code"] == "OUT" and r["state"] in states
    ]


def test_the_kept_quants_equal_a_walk_over_every_picking(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SandboxStore.from_scenario(Scenario())
    book = StockBook(store)
    first = served(book, monkeypatch, walk=True)  # the first refresh walks every picking
    assert any(q["reserved_quantity"] > 0 for q in first)
    assert any(q["quantity"] > q["reserved_quantity"] for q in first)
    now = now_of(store)
    for n, picking in enumerate(outs(store, "assigned", "waiting")[:4]):  # done, cancelled
        state = "done" if n % 2 else "cancel"
        store.upsert("wms", {**picking, "state": state, "write_date": odoo(now + 1)})
    closed = served(book, monkeypatch)
    assert closed != first
    now = now_of(store)
    for n, created in enumerate((now - DAY, now - RATE_DAYS * DAY, now - RATE_DAYS * DAY - 1)):
        store.upsert("wms", delivery(90_000 + n, created, now))  # on and past the window's edge
    store.upsert("wms", delivery(90_010, now - 3 * DAY, now, "done"))
    grown = served(book, monkeypatch)
    assert grown != closed
    for picking in outs(store, "done")[:3] + outs(store, "assigned")[:1]:
        assert store.delete("wms", picking["id"])
    assert store.delete("wms", 90_001)
    assert served(book, monkeypatch) != grown
    for hours in (0.5, 30, 24 * 9 + 7, 24 * 45):  # the clock moves on, pickings leave the window
        store.upsert(
            "wms", {**store.records("wms")[0], "write_date": odoo(now + int(hours * 3600))}
        )
        moved = served(book, monkeypatch)
        assert {q["write_date"] for q in moved} == {odoo(now + int(hours * 3600))}
    newest = store.records("wms")[-1]["id"]
    store.delete("wms", newest)  # and back
    assert now_of(store) < now + 45 * DAY
    served(book, monkeypatch)


def test_a_fractional_quantity_is_summed_as_every_picking_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """0.1 + 0.2 depends on the order summed: while such a picking is there, refresh walks."""
    store = SandboxStore.from_scenario(Scenario(orders=60))
    book = StockBook(store)
    served(book, monkeypatch, walk=True)
    now = now_of(store)
    for n, units in enumerate((0.1, 0.2, 0.7)):
        record = delivery(80_000 + n, now - DAY, now)
        record["move_ids"] = [{"product": "SKU-001", "quantity": units}]
        store.upsert("wms", record)
    served(book, monkeypatch, walk=True)
    for n in range(3):
        store.delete("wms", 80_000 + n)
    served(book, monkeypatch)  # gone again: back to the kept sums


def test_a_log_of_half_the_pickings_gives_up_for_a_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SandboxStore.from_scenario(Scenario(orders=60))
    book = StockBook(store)
    served(book, monkeypatch, walk=True)
    monkeypatch.setattr(sandbox.store, "LOG_FLOOR", 0)
    now, log = now_of(store), store.watch("wms")
    assert store.take("wms", log).entries is not None  # a new log: everything
    for picking in store.records("wms")[: store.count("wms") // 2 + 1]:
        store.upsert("wms", {**picking, "state": "cancel", "write_date": odoo(now + 60)})
    assert store.take("wms", log).entries is not None  # gave up: everything again
    assert served(book, monkeypatch, walk=True)[0]["write_date"] == odoo(now + 60)
    store.delete("wms", store.records("wms")[0]["id"])
    served(book, monkeypatch)  # and kept up again


def test_random_changes_keep_the_quants_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    store = SandboxStore.from_scenario(Scenario(orders=150, seed=3))
    book = StockBook(store)
    served(book, monkeypatch, walk=True)
    for step in range(60):
        now, ids = now_of(store), [r["id"] for r in store.records("wms")]
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.4 and ids:
                picking = store.get("wms", rng.choice(ids)) or {}
                state = rng.choice(["done", "cancel", "assigned", "waiting"])
                written = now + rng.choice([0, 1, 3_600, 5 * DAY + 17])
                store.upsert("wms", {**picking, "state": state, "write_date": odoo(written)})
            elif roll < 0.7:
                created = now - rng.randint(0, 40 * DAY)
                store.upsert("wms", delivery(70_000 + step * 10 + _, created, now, "assigned"))
            elif ids:
                store.delete("wms", rng.choice(ids))
        served(book, monkeypatch)


def test_a_change_log_keeps_what_each_key_held_before_its_first_change() -> None:
    store = SandboxStore({"wms": [delivery(1, 0, 10), delivery(2, 0, 20)]})
    log = store.watch("wms")
    everything = store.take("wms", log)  # a new log: every entry
    assert everything.changes is None and len(everything.entries or []) == 2
    first = store.get("wms", 1)
    store.upsert("wms", delivery(1, 0, 30, "done"))
    store.upsert("wms", delivery(1, 0, 40, "cancel"))
    store.upsert("wms", delivery(3, 0, 50))
    store.delete("wms", 2)
    taken = store.take("wms", log)
    assert taken.version == store.version("wms") and taken.last_cursor == "1970-01-01T00:00:50Z"
    changes = {key: (before, now) for key, before, now in taken.changes or []}
    assert changes[1][0] == first and changes[1][1]["state"] == "cancel"
    assert changes[2][1] is None and changes[3][0] is None
    assert store.take("wms", log).changes == []  # taken: emptied
    store.replace("wms", [delivery(4, 0, 60)])
    assert store.take("wms", log).entries is not None  # loaded anew: every entry again
    with pytest.raises(ValueError):
        store.take("wms", SandboxStore().watch("wms"))
