"""Anomalies: what goes wrong in the source systems, on purpose and reproducibly.

:func:`inject` picks orders of a generated scenario and gives each one
:class:`~sandbox.model.Anomaly` of each kind in
:data:`~sandbox.model.ANOMALY_KINDS`, from its own random generator (seeded
from the scenario's seed), so the scenario's other orders stay exactly as they were.
``count`` is how many orders get each kind: an ``int`` (or a whole ``float``) is a
count, a ``float`` in ``(0, 1)`` a share of all orders (at least one order per kind).
Kinds never share an order; a kind gets fewer orders when too few are eligible.

Every anomaly leaves the order's stage (and so its expected canonical status) as the
canonical model's rules imply it, and adds no event later than the newest event the
scenario already had, so no healthy in-flight order ages past its SLA because of one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import pairwise

from sandbox import catalog
from sandbox.lifecycle import DAY, HOUR, MINUTE
from sandbox.model import ANOMALY_KINDS, Anomaly, Order, Step
from sandbox.model import StepKind as K

#: The code the ``unknown_code`` anomaly sends in ``tracker.status``: an EasyPost
#: ``status_detail`` value leaking into ``status`` - a code no crosswalk maps.
UNKNOWN_CODE = ("tms", "tracker.status", "arrived_at_facility")

#: An old order left waiting for stock is at least this old.
STUCK_MIN_AGE = 14 * DAY

Count = int | float


def orders_per_kind(count: Count, orders: int) -> int:
    """How many orders each kind gets for ``count`` of a scenario of ``orders`` orders.

    An int (or a whole float such as ``2.0``, as a command line gives it) is a count; a
    float in ``(0, 1)`` is a share of the orders, at least one.
    """
    if isinstance(count, bool) or not isinstance(count, int | float):
        raise ValueError(f"anomalies must be a count or a share of orders, got {count!r}")
    if count < 0:
        raise ValueError(f"anomalies must be 0 or more, got {count}")
    if isinstance(count, int) or count.is_integer():
        return int(count)
    if count > 1:
        raise ValueError(f"anomalies must be a whole count or a share below 1, got {count}")
    return max(1, round(count * orders))


def _tms_steps(order: Order) -> list[Step]:
    return [step for step in order.steps if step.kind.startswith("tms.")]


def _delivered_at(order: Order) -> int | None:
    if order.stage != "delivered":
        return None
    last = order.steps[-1]
    return last.at if last.kind in (K.TMS_DELIVERED, K.TMS_PICKED_UP) else None


def _widest_gap(steps: Sequence[Step]) -> tuple[int, int]:
    """The two consecutive step times farthest apart."""
    pairs = list(pairwise(steps))
    first, second = max(pairs, key=lambda pair: pair[1].at - pair[0].at)
    return first.at, second.at


def _late_arrival(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """A hub scan from before the delivery, reported after it."""
    delivered = _delivered_at(order)
    transit = [s for s in _tms_steps(order) if s.kind != K.TMS_LABEL]
    if delivered is None or len(transit) < 2:
        return None
    low, high = _widest_gap(transit)
    if high - low < 3:
        return None
    reported = min(newest, delivered + rng.randrange(HOUR, 2 * DAY))
    return Anomaly(
        "late_arrival",
        at=rng.randrange(low + 1, high),
        reported_at=max(reported, delivered + 1),
        place=rng.choice(catalog.HUBS),
    )


def _terminal_conflict(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """The ERP cancels between the carrier's last two scans (the last one: delivered)."""
    delivered = _delivered_at(order)
    tms = _tms_steps(order)
    if delivered is None or len(tms) < 2 or delivered - tms[-2].at < 3:
        return None
    return Anomaly("terminal_conflict", at=rng.randrange(tms[-2].at + 1, delivered))


def _regression(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """An in-transit scan after the delivery."""
    delivered = _delivered_at(order)
    if delivered is None or newest - delivered < HOUR:
        return None
    at = rng.randrange(delivered + 30 * MINUTE, min(newest, delivered + 12 * HOUR) + 1)
    return Anomaly("regression", at=at, reported_at=at, place=rng.choice(catalog.HUBS))


def _misroute(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """Out for delivery and delivered in another country."""
    if _delivered_at(order) is None:
        return None
    elsewhere = [
        place
        for places in catalog.PLACES.values()
        for place in places
        if place.country != order.ship_to_country
    ]
    return Anomaly("misroute", place=rng.choice(elsewhere))


def _unpaid_shipment(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """A web order shipped (and delivered) while its payment stays pending."""
    if _delivered_at(order) is None or order.channel != "web":
        return None
    return Anomaly("unpaid_shipment")


def _stuck(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """An old order whose pick has waited for stock since the WMS created it."""
    if _delivered_at(order) is None or newest - order.created_ts < STUCK_MIN_AGE:
        return None
    return Anomaly("stuck")


def _unknown_code(rng: random.Random, order: Order, newest: int) -> Anomaly | None:
    """A tracking detail whose status no crosswalk knows, between two scans."""
    tms = _tms_steps(order)
    if _delivered_at(order) is None or len(tms) < 2:
        return None
    low, high = _widest_gap(tms)
    if high - low < 3:
        return None
    return Anomaly(
        "unknown_code",
        at=rng.randrange(low + 1, high),
        place=rng.choice(catalog.HUBS),
        code=UNKNOWN_CODE[2],
    )


_MAKERS: dict[str, Callable[[random.Random, Order, int], Anomaly | None]] = {
    "late_arrival": _late_arrival,
    "terminal_conflict": _terminal_conflict,
    "regression": _regression,
    "misroute": _misroute,
    "unpaid_shipment": _unpaid_shipment,
    "stuck": _stuck,
    "unknown_code": _unknown_code,
}


def _stuck_steps(order: Order, rng: random.Random) -> tuple[Step, ...]:
    """The steps up to the WMS creating the pickings, then the pick short of stock."""
    steps: list[Step] = []
    for step in order.steps:
        steps.append(step)
        if step.kind == K.WMS_CREATED:
            break
    waiting = steps[-1].at + rng.randrange(MINUTE, 30 * MINUTE)
    return (*steps, Step(waiting, K.WMS_PICK_WAITING_STOCK))


def inject(orders: list[Order], seed: int, count: Count) -> list[Order]:
    """``orders`` with anomalies given to ``count`` orders per kind (a new list)."""
    per_kind = orders_per_kind(count, len(orders))
    if per_kind == 0 or not orders:
        return list(orders)
    rng = random.Random(f"orderhub-sandbox-anomalies:{seed}")
    newest = max(order.steps[-1].at for order in orders)
    result = list(orders)
    taken: set[int] = set()
    for kind in ANOMALY_KINDS:
        candidates = [n for n in range(len(result)) if n not in taken]
        rng.shuffle(candidates)
        given = 0
        for n in candidates:
            if given == per_kind:
                break
            anomaly = _MAKERS[kind](rng, result[n], newest)
            if anomaly is None:
                continue
            order = replace(result[n], anomaly=anomaly)
            if kind == "stuck":
                order = replace(order, stage="on_hold", steps=_stuck_steps(order, rng))
            result[n] = order
            taken.add(n)
            given += 1
    return result


__all__ = ["STUCK_MIN_AGE", "inject", "orders_per_kind"]
