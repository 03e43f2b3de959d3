"""The scenario: reproducible, consistent across systems, its stages imply its statuses, and
its anomalies imply exactly the exceptions it expects (checked by an independent reading of
the records, tests/sandbox/sandbox_events.py)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sandbox_events import current_event, events_by_order, exceptions_by_order

from orderhub.vocabularies import SERVED
from sandbox.anomalies import UNKNOWN_CODE
from sandbox.clock import ODATA_PATTERN
from sandbox.model import ANOMALY_EXCEPTIONS, ANOMALY_KINDS, STAGES
from sandbox.scenario import DEFAULT_AS_OF, Scenario
from sandbox.store import sortable

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


def healthy(s: Scenario) -> list:
    """The scenario's orders without an anomaly."""
    return [o for o in s.orders if o.anomaly is None]


def test_old_orders_are_settled_recent_orders_in_flight(scenario: Scenario) -> None:
    cutoff = scenario.as_of - timedelta(days=10)
    old = Counter(o.stage for o in healthy(scenario) if o.created_at < cutoff)
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
    anomalous = set(scenario.anomalies())
    erp = {r["SalesOrder"]: r for r in scenario.erp_sales_orders()}
    crm = {r["OrderSummary"]["OrderNumber"]: r for r in scenario.crm_fulfillment_orders()}
    wms: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in scenario.wms_pickings():
        wms[r["origin"]][r["picking_type_code"]] = r
    tms = {r["reference"]: r for r in scenario.tms_trackers()}
    for order, r in erp.items():
        # SAP's OData V2 JSON: Edm.DateTime /Date(ms)/, Edm.DateTimeOffset /Date(ms+0000)/
        assert ODATA_PATTERN.match(r["CreationDate"]) and "+" not in r["CreationDate"]
        assert r["LastChangeDateTime"].endswith("+0000)/")
        created, changed = sortable(r["CreationDate"]), sortable(r["LastChangeDateTime"])
        assert start <= created <= changed <= as_of
        # creation → fulfillment order → pickings → PICK done → PACK done → label → OUT done
        chain = [created]
        if order in crm:
            fo = crm[order]
            assert fo["CreatedDate"] <= fo["LastModifiedDate"] <= as_of
            chain.append(fo["CreatedDate"])
        out_done = None
        if order in wms:
            pick, pack, out = wms[order]["PICK"], wms[order]["PACK"], wms[order]["OUT"]
            for p in (pick, pack, out):  # Odoo's form, UTC: compared as ISO instants
                assert sortable(p["create_date"]) <= sortable(p["write_date"]) <= as_of
                assert p["date_done"] is False or p["date_done"] == p["write_date"]
            chain.append(sortable(pick["create_date"]))
            chain.extend(sortable(p["date_done"]) for p in (pick, pack) if p["date_done"])
            out_done = sortable(out["date_done"]) or None
        if order in tms and order not in anomalous:
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
    """The events under the crosswalk and the rules imply each order's expected status."""
    events = events_by_order(all_records(s))
    expected = s.expected_status()
    assert set(events) == set(expected)
    wrong = {}
    for order, status in expected.items():
        decisive = current_event(events[order])
        if decisive.status != status:
            wrong[order] = (status, decisive)
        if s.orders[int(order) - 1_000_001].anomaly is not None:
            continue
        # a tie at the last moment is only ever inside the ERP record, or between
        # events that agree anyway (a cancellation reaching every system at once)
        last = [e for e in events[order] if e.at == decisive.at and e.payment is None]
        agree = {e.status for e in last if e.system != "erp" or e.status == decisive.status}
        assert agree <= {decisive.status}, (order, last)
        assert max(last, key=lambda e: e.rank).status == decisive.status
    assert not wrong, list(wrong.items())[:5]


def check_exceptions(s: Scenario) -> None:
    """The records imply exactly the exceptions the scenario expects: its anomalies', and
    none for a healthy order (no conflict, regression, misroute, unpaid shipment, stuck
    order or unknown code)."""
    assert exceptions_by_order(all_records(s), z(s.as_of)) == s.expected_exceptions()


def test_last_event_implies_expected_status(scenario: Scenario) -> None:
    check_status(scenario)
    check_exceptions(scenario)


@pytest.mark.parametrize(
    ("seed", "as_of"),
    [(11, DEFAULT_AS_OF), (12, datetime(2026, 3, 15, 13, 27, 41, tzinfo=UTC))],
)
def test_status_holds_for_other_seeds_and_dates(seed: int, as_of: datetime) -> None:
    s = Scenario(seed=seed, orders=800, as_of=as_of, anomalies=3)
    check_status(s)
    check_exceptions(s)
    assert max(o.last_event_at for o in s.orders) < as_of
    assert min(o.created_at for o in s.orders) >= as_of - timedelta(days=120)


@pytest.mark.parametrize(("seed", "orders"), [(11, 80), (7, 120), (3, 40), (5, 2000)])
def test_every_anomaly_kind_once_and_no_spurious_exception(seed: int, orders: int) -> None:
    s = Scenario(seed=seed, orders=orders)
    assert sorted(s.anomalies().values()) == sorted(ANOMALY_KINDS)
    check_status(s)
    check_exceptions(s)
    kinds = {kind for found in s.expected_exceptions().values() for kind in found}
    # every type an anomaly causes (the messy scenario shows the others)
    assert kinds == {kind for anomaly in ANOMALY_KINDS for kind in ANOMALY_EXCEPTIONS[anomaly]}


def test_anomalies_leave_the_other_orders_alone() -> None:
    clean, bent = Scenario(seed=11, orders=80, anomalies=0), Scenario(seed=11, orders=80)
    assert clean.anomalies() == {} and clean.expected_exceptions() == {}
    check_exceptions(clean)
    touched = set(bent.anomalies())
    assert len(touched) == len(ANOMALY_KINDS)
    for before, after in zip(clean.orders, bent.orders, strict=True):
        if before.order_id not in touched:
            assert before == after
    for system in SYSTEMS:
        assert len(clean.records(system)) - len(bent.records(system)) == (
            1 if system == "tms" else 0  # the stuck order never shipped
        )


def test_anomaly_share_and_count() -> None:
    s = Scenario(seed=5, orders=2000, anomalies=0.01)
    counts = Counter(s.anomalies().values())
    assert set(counts) == set(ANOMALY_KINDS) and set(counts.values()) == {20}
    check_exceptions(s)
    assert Counter(Scenario(seed=5, orders=300, anomalies=2).anomalies().values()) == {
        kind: 2 for kind in ANOMALY_KINDS
    }
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="anomal"):
            Scenario(orders=10, anomalies=bad)


def test_each_anomaly_shows_in_its_system() -> None:
    s = Scenario(seed=11, orders=80)
    kind_of = {kind: order for order, kind in s.anomalies().items()}
    erp = {r["SalesOrder"]: r for r in s.erp_sales_orders()}
    tms = {r["reference"]: r for r in s.tms_trackers()}
    picks = {r["origin"]: r for r in s.wms_pickings() if r["picking_type_code"] == "PICK"}
    late = tms[kind_of["late_arrival"]]
    times = [d["datetime"] for d in late["tracking_details"]]
    assert times[-1] < times[-2] and late["status"] == "delivered"
    assert late["updated_at"] > max(times)
    assert erp[kind_of["terminal_conflict"]]["OverallSDDocumentRejectionSts"] == "C"
    assert tms[kind_of["terminal_conflict"]]["status"] == "delivered"
    regression = tms[kind_of["regression"]]
    assert [d["status"] for d in regression["tracking_details"]][-2:] == ["delivered", "in_transit"]
    misrouted = tms[kind_of["misroute"]]
    delivered_in = misrouted["tracking_details"][-1]["tracking_location"]["country"]
    assert delivered_in != erp[kind_of["misroute"]]["ShipToCountry"]
    unpaid = erp[kind_of["unpaid_shipment"]]
    assert (
        unpaid["DistributionChannel"] == "10" and unpaid["YY1_ShopFinancialStatus_SDH"] == "PENDING"
    )
    stuck = kind_of["stuck"]
    assert picks[stuck]["state"] == "confirmed" and stuck not in tms
    assert s.expected_status()[stuck] == "on_hold"
    unknown = tms[kind_of["unknown_code"]]
    assert UNKNOWN_CODE[2] in {d["status"] for d in unknown["tracking_details"]}


def test_every_code_sent_is_in_the_served_vocabularies(scenario: Scenario) -> None:
    sent = {
        (e.system, e.field, e.code)
        for evs in events_by_order(all_records(scenario)).values()
        for e in evs
    }
    outside = {code for code in sent if code[2] not in SERVED.get(code[:2], ())}
    assert outside == {UNKNOWN_CODE}


def test_erp_never_shows_goods_issue_before_the_goods_left(scenario: Scenario) -> None:
    stage = {o.order_id: o.stage for o in healthy(scenario)}
    for r in scenario.erp_sales_orders():
        if r["SalesOrder"] not in stage:
            continue
        if stage[r["SalesOrder"]] in {"placed", "processing", "on_hold", "cancelled"}:
            assert r["OverallTotalDeliveryStatus"] != "C", r["SalesOrder"]
        assert (r["OverallSDDocumentRejectionSts"] == "C") == (
            stage[r["SalesOrder"]] == "cancelled"
        )


def test_stages_show_in_the_systems(scenario: Scenario) -> None:
    by_stage: dict[str, set[str]] = defaultdict(set)
    for o in healthy(scenario):
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
        day = datetime.fromisoformat(sortable(r["CreationDate"])).date()
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
