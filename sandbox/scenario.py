"""The sandbox scenario: one reproducible list of orders and every source record they imply.

``Scenario(seed, orders, as_of)`` draws ``orders`` orders created over the 120 days
before ``as_of`` (8 SKUs, 6 stores in 4 regions, 2 warehouses; demand with a weekly
pattern and a mild upward trend), gives each a stage fitting its age, and lays out its
lifecycle. Everything comes from ``random.Random(seed)``: the same arguments give the
same records, byte for byte.

The canonical status of each order (:meth:`Scenario.expected_status`) is written from
its stage, never read from the status crosswalk. ``anomalies`` (default: one order of
each kind) bends some orders the way real systems go wrong - an earlier scan reported
late, an ERP cancellation of a delivered order, a scan after the delivery, a delivery in
another country, a web order shipped unpaid, an order stuck waiting for stock, a status
code nobody mapped (:mod:`sandbox.anomalies`) - and
:meth:`Scenario.expected_exceptions` is the exceptions the canonical model must report,
written from the anomalies, never read from the model.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from orderhub.sources import API_SYSTEMS
from sandbox import catalog
from sandbox.anomalies import Count, inject
from sandbox.changes import next_version
from sandbox.clock import epoch, from_epoch
from sandbox.lifecycle import DAY, draw_stage, ensure_every_stage, plan_steps
from sandbox.model import STAGES, Order, OrderLine, Step
from sandbox.model import StepKind as K
from sandbox.records import crm_record, erp_record, lazy_records, tms_record, wms_records
from sandbox.store import Lazy

DEFAULT_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 120
FIRST_SALES_ORDER = 1_000_001

_UPS_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Scenario:
    """Orders and the records of all four systems, reproducible from ``seed``.

    It plays in one round - the world it serves never moves on - unless ``moves`` is given:
    then in three, and rounds 2 and 3 each move that share of the orders on (the newest,
    :meth:`changes`), as a business's orders in flight move between two syncs. Two rounds
    of moves, because the first sync after an initial load re-reads the whole load (the
    connectors' late-write guarantee, connectors/README.md): round 3 is the steady state.
    (The messy scenario, :mod:`sandbox.messy`, plays hand-written rounds.)
    """

    name = "default"

    def __init__(
        self,
        seed: int = 7,
        orders: int = 400,
        as_of: datetime = DEFAULT_AS_OF,
        anomalies: Count = 1,
        moves: float = 0.0,
    ) -> None:
        if orders < 0:
            raise ValueError(f"orders must be 0 or more, got {orders}")
        if not 0 <= moves <= 1:
            raise ValueError(f"moves must be a share of the orders, 0 to 1, got {moves}")
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        self.seed = seed
        self.order_count = orders
        self.as_of = as_of.astimezone(UTC)
        self.anomaly_count = anomalies
        self.moves = moves
        self.rounds = 3 if moves else 1
        generated = _generate(random.Random(seed), orders, epoch(self.as_of))
        self._orders = inject(generated, seed, anomalies)

    def __repr__(self) -> str:
        when = f"{self.as_of:%Y-%m-%dT%H:%M:%SZ}"
        return (
            f"Scenario(seed={self.seed}, orders={self.order_count}, as_of={when}, "
            f"anomalies={self.anomaly_count}, moves={self.moves})"
        )

    # ------------------------------------------------------------------ orders

    @property
    def orders(self) -> list[Order]:
        """Every order, oldest first (a new list; the orders themselves are frozen)."""
        return list(self._orders)

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders)

    def __len__(self) -> int:
        return len(self._orders)

    def expected_status(self) -> dict[str, str]:
        """Order id → the canonical status its stage implies."""
        return {order.order_id: order.expected_status for order in self._orders}

    def expected_exceptions(self) -> dict[str, set[str]]:
        """Order id → the exception types the canonical model must report for it.

        Only orders with an exception are keys; every other order must have none.
        """
        return {
            order.order_id: set(order.expected_exceptions)
            for order in self._orders
            if order.expected_exceptions
        }

    def describe(self) -> str:
        """One line on what the scenario is."""
        moved = len(self.moved_orders())
        moving = f"; rounds 2 and 3 move the newest {moved} on" if self.moves else ""
        return (
            f"{self.order_count} orders, seed {self.seed}, {len(self.anomalies())} with an "
            f"anomaly (expect exceptions){moving}"
        )

    def anomalies(self) -> dict[str, str]:
        """Order id → the kind of anomaly it carries (orders without one left out)."""
        return {order.order_id: order.anomaly.kind for order in self._orders if order.anomaly}

    def stage_counts(self) -> dict[str, int]:
        """How many orders are in each stage (every stage listed, zeros included)."""
        counts = Counter(order.stage for order in self._orders)
        return {stage: counts[stage] for stage in STAGES}

    def expected_daily_demand(self) -> dict[tuple[str, str, date], int]:
        """(SKU, store, UTC creation date) → units ordered, over orders not cancelled.

        This is what the ``fct_daily_demand`` mart should hold for the scenario;
        days without orders have no key.
        """
        demand: Counter[tuple[str, str, date]] = Counter()
        for order in self._orders:
            if order.stage == "cancelled":
                continue
            day = order.created_at.date()
            for line in order.lines:
                demand[(line.sku, order.store, day)] += line.quantity
        return dict(demand)

    # ----------------------------------------------------------------- records

    def erp_sales_orders(self) -> list[dict[str, Any]]:
        """ERP ``A_SalesOrder`` records (``to_Item`` expanded), one per order."""
        return [erp_record(order) for order in self._orders]

    def crm_fulfillment_orders(self) -> list[dict[str, Any]]:
        """CRM ``FulfillmentOrder`` records, one per order that reached order management."""
        return [r for r in map(crm_record, self._orders) if r is not None]

    def wms_pickings(self) -> list[dict[str, Any]]:
        """WMS ``stock.picking`` records: PICK, PACK and OUT per order the WMS received."""
        return [record for order in self._orders for record in wms_records(order)]

    def tms_trackers(self) -> list[dict[str, Any]]:
        """TMS ``Tracker`` records, one per order with a shipping label."""
        return [r for r in map(tms_record, self._orders) if r is not None]

    def moved_orders(self) -> list[Order]:
        """The orders rounds 2 and 3 move on: the newest ``moves`` share (at least one when
        ``moves`` is above 0)."""
        if not self.moves:
            return []
        count = max(1, round(self.moves * len(self._orders)))
        return self._orders[-count:]

    def changes(self, round_number: int, system: str) -> list[dict[str, Any]]:
        """The records of ``system`` that round ``round_number`` (2 or 3) moves on
        (:meth:`moved_orders`): each one moved on once per round so far
        (:func:`sandbox.changes.next_version`, stamped with the time of the change); a
        tracker that has ended stops moving."""
        if not 2 <= round_number <= self.rounds:
            raise ValueError(f"the {self.name} scenario has no round {round_number}")
        now = int(time.time())
        moved = []
        for record, _ in lazy_records(self.moved_orders(), system):
            version: dict[str, Any] | None = record
            for _ in range(round_number - 1):
                version = next_version(system, version, now) if version else None
            if version is not None:
                moved.append(version)
        return moved

    def lazy_records(self, system: str) -> Iterator[tuple[dict[str, Any], Lazy]]:
        """Each record of ``system`` once, with the :class:`~sandbox.store.Lazy` that builds
        it again from its order: what the sandbox's store keeps instead of the record."""
        if system not in API_SYSTEMS:
            raise ValueError(f"unknown system {system!r}; expected one of {API_SYSTEMS}")
        return lazy_records(self._orders, system)

    def records(self, system: str) -> list[dict[str, Any]]:
        """The records of ``system`` (``erp``, ``crm``, ``wms`` or ``tms``)."""
        builders = {
            "erp": self.erp_sales_orders,
            "crm": self.crm_fulfillment_orders,
            "wms": self.wms_pickings,
            "tms": self.tms_trackers,
        }
        if system not in builders:
            raise ValueError(f"unknown system {system!r}; expected one of {API_SYSTEMS}")
        return builders[system]()


# ---------------------------------------------------------------------- generation


class _Customer:
    __slots__ = ("customer_id", "name", "place")

    def __init__(self, customer_id: str, name: str, place: catalog.Place) -> None:
        self.customer_id = customer_id
        self.name = name
        self.place = place


def _customers(rng: random.Random, count: int) -> dict[str, list[_Customer]]:
    """Customers per store: each lives in its store's region (half in the store's city)."""
    by_store: dict[str, list[_Customer]] = {store.store_id: [] for store in catalog.STORES}
    weights = [store.weight for store in catalog.STORES]
    for n in range(count):
        if n < 2 * len(catalog.STORES):
            store = catalog.STORES[n % len(catalog.STORES)]
        else:
            store = rng.choices(catalog.STORES, weights)[0]
        # half live in the store's own city, the rest elsewhere in its region
        place = store.home if rng.random() < 0.5 else rng.choice(catalog.PLACES[store.region])
        name = f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}"
        by_store[store.store_id].append(_Customer(f"C{n + 1:05d}", name, place))
    return by_store


def _creation_times(rng: random.Random, count: int, as_of: int) -> list[int]:
    """``count`` creation times over the 120 days before ``as_of``, sorted.

    Days are weighted by weekday and a linear trend; hours by the intake curve.
    """
    start = as_of - HISTORY_DAYS * DAY
    first_midnight = start - start % DAY
    days: list[int] = []
    weights: list[float] = []
    midnight = first_midnight
    while midnight < as_of:
        covered = min(midnight + DAY, as_of) - max(midnight, start)
        progress = (midnight - start) / (HISTORY_DAYS * DAY)
        weekday = from_epoch(midnight).weekday()
        days.append(midnight)
        weights.append(
            catalog.WEEKDAY_FACTOR[weekday] * (1 + catalog.TREND * progress) * covered / DAY
        )
        midnight += DAY
    chosen = rng.choices(days, weights, k=count)
    hours = rng.choices(range(24), catalog.HOUR_WEIGHTS, k=count)
    times = []
    for day, hour in zip(chosen, hours, strict=True):
        moment = day + hour * 3600 + rng.randrange(3600)
        if not start <= moment < as_of:
            moment = rng.randrange(max(day, start), min(day + DAY, as_of))
        times.append(moment)
    times.sort()
    return times


def _lines(rng: random.Random, store: str) -> tuple[OrderLine, ...]:
    """1-4 distinct SKUs, weighted by popularity and the store's tilt."""
    tilt = catalog.STORE_SKU_TILT[store]
    weights = [sku.popularity * tilt[n] for n, sku in enumerate(catalog.SKUS)]
    wanted = rng.choices((1, 2, 3, 4), catalog.ITEM_COUNT_WEIGHTS)[0]
    picked: list[int] = []
    while len(picked) < wanted:
        n = rng.choices(range(len(catalog.SKUS)), weights)[0]
        if n not in picked:
            picked.append(n)
    lines = []
    for position, n in enumerate(picked, start=1):
        sku = catalog.SKUS[n]
        quantity = rng.choices((1, 2, 3, 4), catalog.QUANTITY_WEIGHTS)[0]
        lines.append(OrderLine(str(10 * position), sku.code, quantity, quantity * sku.price_cents))
    return tuple(lines)


def _tracking_code(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(_UPS_ALPHABET, k=16))
    if carrier == "DHL":
        return str(rng.randrange(10**9, 10**10))
    return "9400" + str(rng.randrange(10**17, 10**18))


def _first(steps: tuple[Step, ...], kind: str) -> int | None:
    return next((step.at for step in steps if step.kind == kind), None)


@dataclass(frozen=True, slots=True)
class _Draft:
    """One order as drawn, before the ids the CRM and the WMS hand out in arrival order."""

    stage: str
    store: catalog.Store
    customer: _Customer
    channel: str
    method: str
    warehouse: str
    carrier: str
    lines: tuple[OrderLine, ...]
    steps: tuple[Step, ...]
    tracker_id: str
    tracking_code: str
    signed_by: str | None


def _draft(
    rng: random.Random,
    stage: str,
    moment: int,
    as_of: int,
    customers: dict[str, list[_Customer]],
) -> _Draft:
    """An order created at ``moment`` that has reached ``stage`` by ``as_of``."""
    store = rng.choices(catalog.STORES, [s.weight for s in catalog.STORES])[0]
    customer = rng.choice(customers[store.store_id])
    if stage == "pickup_available":
        method = "Pickup"
    else:
        method = rng.choices(("Standard", "Express", "Pickup"), (0.7, 0.2, 0.1))[0]
    home = catalog.HOME_WAREHOUSE[store.region]
    warehouse = home if rng.random() < 0.9 else ("WH2" if home == "WH1" else "WH1")
    carrier = rng.choices(catalog.CARRIERS, catalog.CARRIER_WEIGHTS)[0]
    steps = plan_steps(
        rng,
        stage,
        moment,
        as_of,
        pickup=method == "Pickup",
        express=method == "Express",
        hubs=len(catalog.HUBS),
    )
    signed = method == "Pickup" or rng.random() < 0.6
    return _Draft(
        stage=stage,
        store=store,
        customer=customer,
        channel="web" if rng.random() < 0.65 else "store",
        method=method,
        warehouse=warehouse,
        carrier=carrier,
        lines=_lines(rng, store.store_id),
        steps=steps,
        tracker_id=f"trk_{rng.getrandbits(128):032x}",
        tracking_code=_tracking_code(rng, carrier),
        signed_by=customer.name if signed else None,
    )


def _arrival_order(drafts: list[_Draft], kind: str) -> list[int]:
    """Indexes of the drafts that reached step ``kind``, in the order they reached it."""
    reached = [(at, n) for n, d in enumerate(drafts) if (at := _first(d.steps, kind)) is not None]
    return [n for _, n in sorted(reached)]


def _fulfillment_numbers(drafts: list[_Draft]) -> list[int]:
    """The CRM's fulfillment order number of each draft (0: the CRM never received it)."""
    numbers = [0] * len(drafts)
    for number, n in enumerate(_arrival_order(drafts, K.CRM_DRAFT), start=1):
        numbers[n] = number
    return numbers


def _pickings(drafts: list[_Draft]) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """The WMS's picking ids (PICK, PACK, OUT) of each draft and their per-warehouse, per-type
    sequence numbers (empty: the WMS never received it)."""
    ids: list[tuple[int, ...]] = [()] * len(drafts)
    numbers: list[tuple[int, ...]] = [()] * len(drafts)
    sequence: Counter[tuple[str, str]] = Counter()
    for k, n in enumerate(_arrival_order(drafts, K.WMS_CREATED)):
        ids[n] = (3 * k + 1, 3 * k + 2, 3 * k + 3)
        picked = []
        for type_code in ("PICK", "PACK", "OUT"):
            sequence[(drafts[n].warehouse, type_code)] += 1
            picked.append(sequence[(drafts[n].warehouse, type_code)])
        numbers[n] = tuple(picked)
    return ids, numbers


def _generate(rng: random.Random, count: int, as_of: int) -> list[Order]:
    customers = _customers(rng, max(24, count // 4))
    created = _creation_times(rng, count, as_of)
    ages = [as_of - moment for moment in created]
    stages = [draw_stage(rng, age) for age in ages]
    ensure_every_stage(rng, stages, ages)
    drafts = [
        _draft(rng, stage, moment, as_of, customers)
        for moment, stage in zip(created, stages, strict=True)
    ]
    fulfillment_numbers = _fulfillment_numbers(drafts)
    picking_ids, picking_numbers = _pickings(drafts)
    return [
        Order(
            order_id=str(FIRST_SALES_ORDER + n),
            stage=d.stage,
            created_at=from_epoch(d.steps[0].at),
            store=d.store.store_id,
            region=d.store.region,
            customer=d.customer.customer_id,
            customer_name=d.customer.name,
            channel=d.channel,
            ship_to_country=d.customer.place.country,
            ship_to_region=d.customer.place.region,
            ship_to_city=d.customer.place.city,
            ship_to_zip=d.customer.place.zip,
            warehouse=d.warehouse,
            delivery_method=d.method,
            carrier=d.carrier,
            lines=d.lines,
            steps=d.steps,
            fulfillment_number=fulfillment_numbers[n],
            picking_ids=picking_ids[n],
            picking_numbers=picking_numbers[n],
            tracker_id=d.tracker_id,
            tracking_code=d.tracking_code,
            signed_by=d.signed_by,
        )
        for n, d in enumerate(drafts)
    ]
