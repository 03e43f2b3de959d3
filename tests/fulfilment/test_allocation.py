"""The allocation decides as its rules say: cold chain, stock, splits, priority first, and
what it cannot decide becomes a manual-review row (never silent)."""

from __future__ import annotations

import dataclasses

import pytest

from fulfilment.allocation import OpenLine, Site, allocate
from fulfilment.rules import load_rules

RULES = load_rules()
KASSEL = Site("WH1", 51.3127, 9.4797, True)
DIJON = Site("WH2", 47.3220, 5.0415, False)
VERONA = Site("WH3", 45.4384, 10.9916, True)
SITES = [KASSEL, DIJON, VERONA]
PARIS, BERLIN, MILAN = RULES.areas["FR", "IDF"], RULES.areas["DE", "BE"], RULES.areas["IT", "25"]


def line(
    order: str, sku: str, quantity: int, where: tuple[float, float] | None, **kw: object
) -> OpenLine:
    fields = {"line_id": "10", "cold_chain": False, "priority": False, "days_to_promise": 5.0}
    return OpenLine(order, sku=sku, quantity=quantity, destination=where, **(fields | kw))  # type: ignore[arg-type]


def stock(**units: int) -> dict[tuple[str, str], int]:
    return {(key[:3], "SKU-" + key[4:]): value for key, value in units.items()}


def by_line(result) -> dict[tuple[str, str], dict[str, int]]:  # type: ignore[no-untyped-def]
    out: dict[tuple[str, str], dict[str, int]] = {}
    for a in result.allocations:
        out.setdefault((a.order_id, a.line_id), {})[a.warehouse] = a.quantity
    return out


def test_nearest_site_with_stock_and_a_reason() -> None:
    result = allocate(
        [line("o1", "SKU-001", 2, PARIS)], SITES, stock(WH1_001=10, WH2_001=10), RULES
    )
    assert result.status == "Optimal"
    (only,) = result.allocations
    assert (only.warehouse, only.quantity, only.reason_code) == ("WH2", 2, "nearest_in_stock")
    assert "nearest eligible site" in only.reason and only.road_km > 0
    assert result.reviews == []


def test_cold_chain_lines_only_from_cold_chain_sites() -> None:
    chilled = line("o1", "SKU-003", 1, PARIS, cold_chain=True)
    result = allocate([chilled], SITES, stock(WH1_003=5, WH2_003=5, WH3_003=5), RULES)
    (only,) = result.allocations
    assert only.warehouse in {"WH1", "WH3"} and "cold chain" in only.reason


def test_a_line_no_single_site_can_serve_is_split() -> None:
    result = allocate([line("o1", "SKU-001", 5, BERLIN)], SITES, stock(WH1_001=3, WH3_001=4), RULES)
    assert by_line(result)["o1", "10"] == {"WH1": 3, "WH3": 2}
    assert all(a.reason_code.endswith("+split") for a in result.allocations)
    assert result.first_choice() == {"o1": "WH1"}


def test_one_parcel_beats_the_nearest_site_when_it_would_split() -> None:
    lines = [line("o1", "SKU-001", 1, PARIS), line("o1", "SKU-002", 1, PARIS, line_id="20")]
    result = allocate(lines, SITES, stock(WH2_001=5, WH1_001=5, WH1_002=5), RULES)
    assert {a.warehouse for a in result.allocations} == {"WH1"}
    reasons = {a.line_id: a.reason_code for a in result.allocations}
    assert reasons == {"10": "one_parcel", "20": "nearest_short"}  # WH2 holds no SKU-002


def test_priority_orders_get_contested_stock_first() -> None:
    plain = line("plain", "SKU-006", 2, BERLIN)
    vip = line("vip", "SKU-006", 2, BERLIN, priority=True)
    result = allocate([plain, vip], SITES, stock(WH1_006=2), RULES)
    assert by_line(result) == {("vip", "10"): {"WH1": 2}}
    (review,) = result.reviews
    assert (review.order_id, review.kind, review.quantity_short) == ("plain", "short_stock", 2)


def test_infeasible_and_conflicting_lines_become_manual_review() -> None:
    lines = [
        line("cold", "SKU-007", 1, MILAN, cold_chain=True),  # only the warm site holds it
        line("nowhere", "SKU-001", 1, None),
        line("late", "SKU-001", 1, MILAN, days_to_promise=0.5),
    ]
    result = allocate(lines, SITES, stock(WH2_007=9, WH3_001=9), RULES)
    kinds = {(r.order_id, r.kind) for r in result.reviews}
    assert kinds == {
        ("cold", "no_cold_chain_site"),
        ("nowhere", "unknown_ship_to_area"),
        ("late", "late_against_promise"),
    }
    assert {a.order_id for a in result.allocations} == {"late"}


def test_the_rules_are_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # a parcel cheap enough, and far-away handling dear enough, and the split disappears
    lines = [line("o1", "SKU-001", 1, PARIS), line("o1", "SKU-002", 1, PARIS, line_id="20")]
    cheap = dataclasses.replace(RULES, values=RULES.values | {"parcel_cost": 0.0})
    result = allocate(lines, SITES, stock(WH2_001=5, WH1_001=5, WH1_002=5), cheap)
    assert {(a.line_id, a.warehouse) for a in result.allocations} == {("10", "WH2"), ("20", "WH1")}


@pytest.mark.timeout(900)
def test_ten_thousand_lines_in_one_solve() -> None:
    """10,000 lines solve to optimality in one MILP. How fast is a figure of
    bench/fulfilment_figures.py: on a shared machine the seed's time limit must not fail it."""
    areas = list(RULES.areas.values())
    lines = [
        line(f"o{n // 2}", f"SKU-00{1 + n % 8}", 1 + n % 3, areas[n % len(areas)],
             line_id=str(n % 2), cold_chain=(1 + n % 8) in (3, 5, 7), priority=n % 7 == 0)
        for n in range(10_000)
    ]  # fmt: skip
    units = {(s.code, f"SKU-00{k}"): 1500 for s in SITES for k in range(1, 9)}
    unhurried = dataclasses.replace(RULES, values={**RULES.values, "time_limit_seconds": 800.0})
    result = allocate(lines, SITES, units, unhurried)
    assert result.status == "Optimal"
    served = sum(a.quantity for a in result.allocations)
    short = sum(r.quantity_short for r in result.reviews if r.kind == "short_stock")
    assert served + short == sum(ln.quantity for ln in lines)
