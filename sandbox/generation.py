"""The generated scenario's orders, drawn from one ``random.Random``: customers, creation
times over the :data:`HISTORY_DAYS` days before ``as_of``, lines, stages and lifecycles,
tracking codes, and the numbers each system gives them (sales orders from
:data:`FIRST_SALES_ORDER`, fulfillment orders, pickings) in the order each system received
them. :func:`generate` is what :class:`~sandbox.scenario.Scenario` holds.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from sandbox import catalog
from sandbox.clock import from_epoch
from sandbox.lifecycle import DAY, draw_stage, ensure_every_stage, plan_steps
from sandbox.model import Order, OrderLine, Step
from sandbox.model import StepKind as K

HISTORY_DAYS = 120
FIRST_SALES_ORDER = 1_000_001

_UPS_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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


def generate(rng: random.Random, count: int, as_of: int) -> list[Order]:
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
