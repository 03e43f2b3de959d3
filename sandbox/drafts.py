"""What the generated scenario draws for one order, from the seed and the order's index.

The scenario never holds its orders: :class:`~sandbox.orderbook.OrderBook` draws order
``i`` again whenever it is read, from a random generator of its own (:func:`order_rng`,
seeded from the scenario's seed and ``i``), so drawing it costs the same at 1,000 orders
as at 1,000,000 and gives the same order every time. What ties orders together is drawn
once, in a streaming pass and kept compact: the creation times (:func:`creation_times`,
day by day in time order), and, in :mod:`sandbox.orderbook`, the stages and the ids the
CRM and the WMS hand out in arrival order.

Customers are derived too: a store has :func:`customer_counts` customers, customer ``k`` of
store ``s`` is drawn from its own generator (:func:`customer`), half of them living in the
store's city, the rest elsewhere in its region.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from sandbox import catalog
from sandbox.clock import from_epoch
from sandbox.lifecycle import DAY, plan_steps
from sandbox.model import OrderLine, Step

HISTORY_DAYS = 120
_UPS_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_STORE_WEIGHTS = tuple(store.weight for store in catalog.STORES)
# cumulative weights for ``Random.choices`` (the same draws as the weights, summed once)
_STORES_CUM = tuple(accumulate(_STORE_WEIGHTS))
_METHODS, _METHODS_CUM = ("Standard", "Express", "Pickup"), tuple(accumulate((0.7, 0.2, 0.1)))
_CARRIERS_CUM = tuple(accumulate(catalog.CARRIER_WEIGHTS))
_ITEMS_CUM = tuple(accumulate(catalog.ITEM_COUNT_WEIGHTS))
_QUANTITY_CUM = tuple(accumulate(catalog.QUANTITY_WEIGHTS))
_SKUS_CUM = {
    store: tuple(accumulate(sku.popularity * tilt[n] for n, sku in enumerate(catalog.SKUS)))
    for store, tilt in catalog.STORE_SKU_TILT.items()
}


def order_rng(seed: int, index: int) -> random.Random:
    """The random generator order ``index`` of the scenario ``seed`` is drawn from."""
    return random.Random(f"orderhub-sandbox-order:{seed}:{index}")


# ---------------------------------------------------------------------- customers


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer: id (``C00001``), name and where they live."""

    customer_id: str
    name: str
    place: catalog.Place


def customer_counts(total: int) -> tuple[int, ...]:
    """How many of ``total`` customers each store has: two each, the rest by store weight
    (largest remainders first)."""
    stores = len(catalog.STORES)
    rest = max(0, total - 2 * stores)
    weight = sum(_STORE_WEIGHTS)
    shares = [rest * w / weight for w in _STORE_WEIGHTS]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(stores), key=lambda s: counts[s] - shares[s])
    for s in by_remainder[: rest - sum(counts)]:
        counts[s] += 1
    return tuple(2 + count for count in counts)


@lru_cache(maxsize=4096)
def customer(seed: int, counts: tuple[int, ...], store: int, k: int) -> Customer:
    """Customer ``k`` of store number ``store`` (customer ids run store after store)."""
    rng = random.Random(f"orderhub-sandbox-customer:{seed}:{store}:{k}")
    home = catalog.STORES[store]
    place = home.home if rng.random() < 0.5 else rng.choice(catalog.PLACES[home.region])
    name = f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}"
    return Customer(f"C{sum(counts[:store]) + k + 1:05d}", name, place)


# ---------------------------------------------------------------------- creation times


def _days(as_of: int) -> tuple[list[int], list[float]]:
    """The midnights of the history window and each day's weight (weekday, trend, the
    part of the day inside the window)."""
    start = as_of - HISTORY_DAYS * DAY
    days: list[int] = []
    weights: list[float] = []
    midnight = start - start % DAY
    while midnight < as_of:
        covered = min(midnight + DAY, as_of) - max(midnight, start)
        progress = (midnight - start) / (HISTORY_DAYS * DAY)
        weekday = from_epoch(midnight).weekday()
        days.append(midnight)
        weights.append(
            catalog.WEEKDAY_FACTOR[weekday] * (1 + catalog.TREND * progress) * covered / DAY
        )
        midnight += DAY
    return days, weights


def creation_times(seed: int, count: int, as_of: int) -> Iterator[int]:
    """``count`` creation times over the 120 days before ``as_of``, in rising order,
    drawn day by day (memory: one day's orders).

    Each order falls on a day weighted by weekday and a linear trend, at an hour weighted
    by the intake curve.
    """
    rng = random.Random(f"orderhub-sandbox-created:{seed}")
    start = as_of - HISTORY_DAYS * DAY
    days, weights = _days(as_of)
    cumulative = list(accumulate(weights))
    per_day = [0] * len(days)
    for _ in range(count):
        per_day[min(bisect(cumulative, rng.random() * cumulative[-1]), len(days) - 1)] += 1
    for day, many in zip(days, per_day, strict=True):
        hours = rng.choices(range(24), catalog.HOUR_WEIGHTS, k=many)
        moments = []
        for hour in hours:
            moment = day + hour * 3600 + rng.randrange(3600)
            if not start <= moment < as_of:
                moment = rng.randrange(max(day, start), min(day + DAY, as_of))
            moments.append(moment)
        yield from sorted(moments)


# ---------------------------------------------------------------------- one order


def _lines(rng: random.Random, store: str) -> tuple[OrderLine, ...]:
    """1-4 distinct SKUs, weighted by popularity and the store's tilt."""
    skus = range(len(catalog.SKUS))
    wanted = rng.choices((1, 2, 3, 4), cum_weights=_ITEMS_CUM)[0]
    picked: list[int] = []
    while len(picked) < wanted:
        n = rng.choices(skus, cum_weights=_SKUS_CUM[store])[0]
        if n not in picked:
            picked.append(n)
    lines = []
    for position, n in enumerate(picked, start=1):
        sku = catalog.SKUS[n]
        quantity = rng.choices((1, 2, 3, 4), cum_weights=_QUANTITY_CUM)[0]
        lines.append(OrderLine(str(10 * position), sku.code, quantity, quantity * sku.price_cents))
    return tuple(lines)


def _tracking_code(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(_UPS_ALPHABET, k=16))
    if carrier == "DHL":
        return str(rng.randrange(10**9, 10**10))
    return "9400" + str(rng.randrange(10**17, 10**18))


def first_at(steps: tuple[Step, ...], kind: str) -> int | None:
    """When the first step of ``kind`` happened (None: never)."""
    return next((step.at for step in steps if step.kind == kind), None)


@dataclass(frozen=True, slots=True)
class Draft:
    """One order as drawn, before the ids the CRM and the WMS hand out in arrival order."""

    stage: str
    store: catalog.Store
    customer: Customer
    channel: str
    method: str
    warehouse: str
    carrier: str
    lines: tuple[OrderLine, ...]
    steps: tuple[Step, ...]
    tracker_id: str
    tracking_code: str
    signed_by: str | None


def draft(
    rng: random.Random,
    stage: str,
    moment: int,
    as_of: int,
    customers: tuple[int, tuple[int, ...]],
) -> Draft:
    """An order created at ``moment`` that has reached ``stage`` by ``as_of``;
    ``customers``: the scenario's seed and :func:`customer_counts`."""
    number = rng.choices(range(len(catalog.STORES)), cum_weights=_STORES_CUM)[0]
    store = catalog.STORES[number]
    seed, counts = customers
    buyer = customer(seed, counts, number, rng.randrange(counts[number]))
    if stage == "pickup_available":
        method = "Pickup"
    else:
        method = rng.choices(_METHODS, cum_weights=_METHODS_CUM)[0]
    home = catalog.HOME_WAREHOUSE[store.region]
    warehouse = home if rng.random() < 0.9 else ("WH2" if home == "WH1" else "WH1")
    carrier = rng.choices(catalog.CARRIERS, cum_weights=_CARRIERS_CUM)[0]
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
    return Draft(
        stage=stage,
        store=store,
        customer=buyer,
        channel="web" if rng.random() < 0.65 else "store",
        method=method,
        warehouse=warehouse,
        carrier=carrier,
        lines=_lines(rng, store.store_id),
        steps=steps,
        tracker_id=f"trk_{rng.getrandbits(128):032x}",
        tracking_code=_tracking_code(rng, carrier),
        signed_by=buyer.name if signed else None,
    )


__all__ = [
    "HISTORY_DAYS",
    "Customer",
    "Draft",
    "creation_times",
    "customer",
    "customer_counts",
    "draft",
    "first_at",
    "order_rng",
]
