"""The scenario: reproducible, consistent across systems, and its stages imply its statuses."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sandbox_events import current_event, events_by_order

from orderhub.sandbox.model import STAGES
from orderhub.sandbox.scenario import DEFAULT_AS_OF, Scenario

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SYSTEMS = ("erp", "crm", "wms", "tms")
IN_FLIGHT = {"placed", "processing", "on_hold", "in_transit", "pickup_available", "problem"}


def all_records(s: Scenario) -> dict[str, list[dict]]:
    return {system: s.records(system) for system in SYSTEMS}


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_same_seed_same_records_other_seed_other_records() -> None:
    first, again, other = (
        Scenario(seed=3, orders=150),
        Scenario(seed=3, orders=150),
        Scenario(seed=4, orders=150),
    )
    assert json.dumps(all_records(first), sort_keys=True) == json.dumps(
        all_records(again), sort_keys=True
    )
    assert first.orders == again.orders
    assert first.expected_status() == again.expected_status()
    assert json.dumps(all_records(first)) != json.dumps(all_records(other))


def test_default_size_has_every_stage_and_a_status_for_every_order(scenario: Scenario) -> None:
    counts = scenario.stage_counts()
    assert set(counts) == set(STAGES)
    assert all(counts[stage] > 0 for stage in STAGES), counts
    assert sum(counts.values()) == len(scenario) == 400
    expected = scenario.expected_status()
    assert set(expected) == {r["SalesOrder"] for r in scenario.erp_sales_orders()}
    assert len(expected) == 400
    assert counts["delivered"] > len(scenario) / 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_stage_present_whatever_the_seed(seed: int) -> None:
    assert all(Scenario(seed=seed).stage_counts().values())


def test_old_orders_are_settled_recent_orders_in_flight(scenario: Scenario) -> None:
    cutoff = scenario.as_of - timedelta(days=10)
    old = Counter(o.stage for o in scenario.orders if o.created_at < cutoff)
    recent = Counter(o.stage for o in scenario.orders if o.created_at >= cutoff)
    assert set(old) <= {"delivered", "cancelled", "returned"}
    assert old["delivered"] > 0.8 * sum(old.values())
    assert set(recent) >= IN_FLIGHT


def test_catalog_dimensions(scenario: Scenario) -> None:
    orders = scenario.orders
    assert len({line.sku for o in orders for line in o.lines}) == 8
    assert len({o.store for o in orders}) == 6
    assert len({o.region for o in orders}) == 4
    assert len({o.warehouse for o in orders}) == 2
    assert {len(o.lines) for o in orders} == {1, 2, 3, 4}
    assert len({o.store: o.region for o in orders}) == 6  # a store sits in one region


def test_ids_agree_across_systems(scenario: Scenario) -> None:
    erp = {r["SalesOrder"]: r for r in scenario.erp_sales_orders()}
    assert len(erp) == len(scenario)
    crm = scenario.crm_fulfillment_orders()
    wms = scenario.wms_pickings()
    tms = scenario.tms_trackers()
    assert len({r["Id"] for r in crm}) == len(crm)
    assert len({r["FulfillmentOrderNumber"] for r in crm}) == len(crm)
    assert len({r["id"] for r in wms}) == len(wms)
    assert len({r["name"] for r in wms}) == len(wms)
    assert len({r["id"] for r in tms}) == len(tms)
    fo_by_order = {r["OrderSummary"]["OrderNumber"]: r for r in crm}
    assert len(fo_by_order) == len(crm) and set(fo_by_order) <= set(erp)
    pickings: dict[str, list[dict]] = defaultdict(list)
    for r in wms:
        pickings[r["origin"]].append(r)
    assert set(pickings) <= set(fo_by_order)
    for order, rows in pickings.items():
        assert sorted(r["picking_type_code"] for r in rows) == ["OUT", "PACK", "PICK"], order
        assert {r["warehouse"] for r in rows} == {
            fo_by_order[order]["FulfilledFromLocation"]["Name"]
        }
        for r in rows:
            assert r["name"].startswith(f"{r['warehouse']}/{r['picking_type_code']}/")
    trackers = Counter(r["reference"] for r in tms)
    assert max(trackers.values()) == 1 and set(trackers) <= set(pickings)
    for order, fo in fo_by_order.items():
        assert fo["FulfilledToCountryCode"] == erp[order]["ShipToCountry"]
    for r in tms:
        assert all(d["source"] == r["carrier"] for d in r["tracking_details"])
        assert re.fullmatch(r"trk_[0-9a-f]{32}", r["id"])
    for r in crm:
        assert re.fullmatch(r"0a3[0-9A-Za-z]{15}", r["Id"])


def test_timestamps_rise_along_the_lifecycle(scenario: Scenario) -> None:
    as_of = z(scenario.as_of)
    start = z(scenario.as_of - timedelta(days=120))
    erp = {r["SalesOrder"]: r for r in scenario.erp_sales_orders()}
    crm = {r["OrderSummary"]["OrderNumber"]: r for r in scenario.crm_fulfillment_orders()}
    wms: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in scenario.wms_pickings():
        wms[r["origin"]][r["picking_type_code"]] = r
    tms = {r["reference"]: r for r in scenario.tms_trackers()}
    for order, r in erp.items():
        assert ISO.match(r["CreationDate"]) and ISO.match(r["LastChangeDateTime"])
        assert start <= r["CreationDate"] <= r["LastChangeDateTime"] <= as_of
        # creation → fulfillment order → pickings → PICK done → PACK done → label → OUT done
        chain = [r["CreationDate"]]
        if order in crm:
            fo = crm[order]
            assert fo["CreatedDate"] <= fo["LastModifiedDate"] <= as_of
            chain.append(fo["CreatedDate"])
        out_done = None
        if order in wms:
            pick, pack, out = wms[order]["PICK"], wms[order]["PACK"], wms[order]["OUT"]
            for p in (pick, pack, out):
                assert p["create_date"] <= p["write_date"] <= as_of
                assert p["date_done"] is False or p["date_done"] == p["write_date"]
            chain.append(pick["create_date"])
            chain.extend(p["date_done"] for p in (pick, pack) if p["date_done"])
            out_done = out["date_done"] or None
        if order in tms:
            tracker = tms[order]
            times = [d["datetime"] for d in tracker["tracking_details"]]
            assert all(ISO.match(t) for t in times)
            assert times == sorted(times) and len(set(times)) == len(times), order
            assert tracker["created_at"] == times[0] and tracker["updated_at"] == times[-1]
            assert tracker["status"] == tracker["tracking_details"][-1]["status"]
            assert times[-1] <= as_of
            chain.append(times[0])
            if out_done:
                chain.append(out_done)
                # the carrier scans only what left the building
                assert len(times) == 1 or out_done < times[1], order
        elif out_done:
            chain.append(out_done)
        assert chain == sorted(chain) and len(set(chain)) == len(chain), order


def test_steps_rise_strictly_and_end_before_as_of(scenario: Scenario) -> None:
    as_of = int(scenario.as_of.timestamp())
    for order in scenario.orders:
        times = [step.at for step in order.steps]
        assert all(a < b for a, b in pairwise(times)), order.order_id
        assert times[-1] < as_of


def check_status(s: Scenario) -> None:
    """The last event under the crosswalk implies each order's expected status."""
    events = events_by_order(all_records(s))
    expected = s.expected_status()
    assert set(events) == set(expected)
    wrong = {}
    for order, status in expected.items():
        decisive = current_event(events[order])
        if decisive.status != status:
            wrong[order] = (status, decisive)
        # a tie at the last moment is only ever inside the ERP record, or between
        # events that agree anyway (a cancellation reaching every system at once)
        last = [e for e in events[order] if e.at == decisive.at]
        agree = {e.status for e in last if e.system != "erp" or e.status == decisive.status}
        assert agree <= {decisive.status}, (order, last)
        assert max(last, key=lambda e: e.rank).status == decisive.status
    assert not wrong, list(wrong.items())[:5]


def check_no_exceptions(s: Scenario) -> None:
    """No terminal conflict, no regression after a terminal event, delivered where shipped."""
    events = events_by_order(all_records(s))
    ship_to = {r["SalesOrder"]: r["ShipToCountry"] for r in s.erp_sales_orders()}
    delivered_in = {
        (r["reference"], d["tracking_location"]["country"])
        for r in s.tms_trackers()
        for d in r["tracking_details"]
        if d["status"] == "delivered"
    }
    assert all(ship_to[order] == country for order, country in delivered_in)
    for order, evs in events.items():
        terminal = [e for e in evs if e.terminal]
        assert len({e.status for e in terminal}) <= 1, (order, terminal)
        for t in terminal:
            later = [e for e in evs if e.at > t.at and e.rank < t.rank]
            assert not later, (order, t, later)


def test_last_event_implies_expected_status(scenario: Scenario) -> None:
    check_status(scenario)
    check_no_exceptions(scenario)


@pytest.mark.parametrize(
    ("seed", "as_of"),
    [(11, DEFAULT_AS_OF), (12, datetime(2026, 3, 15, 13, 27, 41, tzinfo=UTC))],
)
def test_status_holds_for_other_seeds_and_dates(seed: int, as_of: datetime) -> None:
    s = Scenario(seed=seed, orders=800, as_of=as_of)
    check_status(s)
    check_no_exceptions(s)
    assert max(o.last_event_at for o in s.orders) < as_of
    assert min(o.created_at for o in s.orders) >= as_of - timedelta(days=120)


def test_erp_never_shows_goods_issue_before_the_goods_left(scenario: Scenario) -> None:
    stage = {o.order_id: o.stage for o in scenario.orders}
    for r in scenario.erp_sales_orders():
        if stage[r["SalesOrder"]] in {"placed", "processing", "on_hold", "cancelled"}:
            assert r["OverallTotalDeliveryStatus"] != "C", r["SalesOrder"]
        assert (r["OverallSDDocumentRejectionSts"] == "C") == (
            stage[r["SalesOrder"]] == "cancelled"
        )


def test_stages_show_in_the_systems(scenario: Scenario) -> None:
    by_stage: dict[str, set[str]] = defaultdict(set)
    for o in scenario.orders:
        by_stage[o.stage].add(o.order_id)
    picks = {r["origin"]: r for r in scenario.wms_pickings() if r["picking_type_code"] == "PICK"}
    trackers = {r["reference"]: r for r in scenario.tms_trackers()}
    fos = {r["OrderSummary"]["OrderNumber"]: r for r in scenario.crm_fulfillment_orders()}
    assert all(picks[o]["state"] == "confirmed" for o in by_stage["on_hold"])
    assert all(
        trackers[o]["status"] == "available_for_pickup" for o in by_stage["pickup_available"]
    )
    assert all(fos[o]["DeliveryMethod"] == "Pickup" for o in by_stage["pickup_available"])
    assert all(trackers[o]["status"] == "delivered" for o in by_stage["delivered"])
    assert all(trackers[o]["status"] == "failure" for o in by_stage["problem"])
    assert all(trackers[o]["status"] == "return_to_sender" for o in by_stage["returned"])
    assert all(o not in picks for o in by_stage["placed"])
    assert all(fos[o]["Status"] == "Canceled" for o in by_stage["cancelled"] if o in fos)
    signed = [trackers[o]["signed_by"] for o in by_stage["delivered"]]
    assert any(signed) and not all(signed)


def test_expected_daily_demand_matches_the_erp_items(scenario: Scenario) -> None:
    cancelled = {o.order_id for o in scenario.orders if o.stage == "cancelled"}
    units: Counter = Counter()
    for r in scenario.erp_sales_orders():
        if r["SalesOrder"] in cancelled:
            continue
        day = datetime.fromisoformat(r["CreationDate"]).date()
        for item in r["to_Item"]["results"]:
            units[(item["Material"], r["SalesOffice"], day)] += int(item["RequestedQuantity"])
    assert scenario.expected_daily_demand() == dict(units)


def test_demand_has_a_weekly_pattern_and_a_trend() -> None:
    s = Scenario(seed=5, orders=6000)
    by_weekday: Counter = Counter()
    by_day: Counter = Counter()
    for (_, _, day), units in s.expected_daily_demand().items():
        by_weekday[day.weekday()] += units
        by_day[day] += units
    assert by_weekday[5] > 2 * by_weekday[6]  # Saturday vs Sunday
    assert by_weekday[4] > by_weekday[1]  # Friday vs Tuesday
    days = sorted(by_day)
    assert len(days) == 120
    first, last = sum(by_day[d] for d in days[:28]), sum(by_day[d] for d in days[-28:])
    assert last > 1.1 * first
    for (_, store, _), _units in s.expected_daily_demand().items():
        assert store in {"S01", "S02", "S03", "S04", "S05", "S06"}


def test_money_adds_up(scenario: Scenario) -> None:
    for r in scenario.erp_sales_orders():
        items = r["to_Item"]["results"]
        cents = sum(round(float(i["NetAmount"]) * 100) for i in items)
        assert round(float(r["TotalNetAmount"]) * 100) == cents
        assert [i["SalesOrderItem"] for i in items] == [
            str(10 * n) for n in range(1, len(items) + 1)
        ]
        assert all(i["SalesOrder"] == r["SalesOrder"] for i in items)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="orders"):
        Scenario(orders=-1)
    with pytest.raises(ValueError, match="timezone"):
        Scenario(as_of=datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="unknown system"):
        Scenario(orders=1).records("oms")
    assert Scenario(orders=0).records("erp") == []
