"""How far an order has come for its age, and the timed steps that brought it there.

Old orders are settled (mostly delivered, some cancelled or returned); the last ten days'
orders are spread over every in-flight stage. :func:`plan_steps` lays out an order's steps
along the lifecycle ERP → CRM → WMS PICK → PACK → OUT → TMS with strictly rising times,
every one at or before ``as_of``, so that the order's last step implies its stage's
canonical status.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

from sandbox.model import STAGES, Step
from sandbox.model import StepKind as K

MINUTE = 60
HOUR = 3600
DAY = 86400

#: Orders younger than this are in flight; older ones are settled.
IN_FLIGHT_DAYS = 10

#: Stage weights by age: the first bucket whose bound (days) exceeds the age applies.
STAGE_WEIGHTS_BY_AGE: tuple[tuple[float, dict[str, float]], ...] = (
    (0.5, {"placed": 5, "processing": 4, "on_hold": 1, "cancelled": 0.5}),
    (2, {"placed": 1, "processing": 4, "on_hold": 2, "in_transit": 2, "cancelled": 0.5}),
    (
        4,
        {
            "processing": 1.5,
            "on_hold": 1.5,
            "in_transit": 4,
            "pickup_available": 1,
            "delivered": 1,
            "problem": 0.5,
            "cancelled": 0.5,
        },
    ),
    (
        7,
        {
            "on_hold": 0.7,
            "in_transit": 2,
            "pickup_available": 1.5,
            "delivered": 4,
            "problem": 1,
            "cancelled": 0.7,
            "returned": 0.2,
        },
    ),
    (
        IN_FLIGHT_DAYS,
        {
            "in_transit": 0.5,
            "pickup_available": 1,
            "delivered": 6,
            "problem": 1,
            "cancelled": 0.7,
            "returned": 0.3,
        },
    ),
    (math.inf, {"delivered": 88, "cancelled": 7, "returned": 5}),
)

#: How long after ``as_of`` the world may be read before a healthy order overstays.
SLA_SLACK = 6 * HOUR

#: The ages (seconds, lower inclusive, upper exclusive) at which a stage may be drawn.
#: A healthy order is never older than its stage allows, so it stays within the status
#: SLAs of dbt_project/seeds/status_slas.csv (placed 2 days, processing 4, on hold 7,
#: in flight 10) when the product extracts it up to :data:`SLA_SLACK` after ``as_of`` (the
#: SLA clock is the extraction time); only the ``stuck`` anomaly overstays.
STAGE_AGES: dict[str, tuple[float, float]] = {
    "placed": (0, 2 * DAY - SLA_SLACK),
    "processing": (2 * HOUR, 4 * DAY - SLA_SLACK),
    "on_hold": (2 * HOUR, 7 * DAY - SLA_SLACK),
    "in_transit": (1 * DAY, IN_FLIGHT_DAYS * DAY - SLA_SLACK),
    "pickup_available": (2 * DAY, IN_FLIGHT_DAYS * DAY - SLA_SLACK),
    "delivered": (2 * DAY, math.inf),
    "problem": (2 * DAY, IN_FLIGHT_DAYS * DAY - SLA_SLACK),
    "cancelled": (2 * HOUR, math.inf),
    "returned": (4 * DAY, math.inf),
}

#: A planned leg: step kind, shortest and longest gap to the step before (s), where.
Leg = tuple[str, float, float, str]


def eligible(stage: str, age: float) -> bool:
    """Whether an order ``age`` seconds old may be in ``stage``."""
    low, high = STAGE_AGES[stage]
    return low <= age < high


def draw_stage(rng: random.Random, age: float) -> str:
    """A stage for an order ``age`` seconds old, from the age bucket's weights."""
    days = age / DAY
    weights = next(w for bound, w in STAGE_WEIGHTS_BY_AGE if days < bound)
    stages = [stage for stage in weights if eligible(stage, age)] or ["placed"]
    return rng.choices(stages, [weights.get(stage, 1.0) for stage in stages])[0]


def ensure_every_stage(rng: random.Random, stages: list[str], ages: Sequence[float]) -> None:
    """Move orders into stages nobody drew, taking them from the most common stage.

    Works in place. A stage stays empty only when no order is old enough (or young
    enough) for it, or when the scenario is too small to spare one.
    """
    counts = Counter(stages)
    for stage in STAGES:
        if counts[stage]:
            continue
        pool = [i for i, age in enumerate(ages) if eligible(stage, age) and counts[stages[i]] > 1]
        if not pool:
            continue
        top = max(counts[stages[i]] for i in pool)
        donor = rng.choice([i for i in pool if counts[stages[i]] == top])
        counts[stages[donor]] -= 1
        stages[donor] = stage
        counts[stage] += 1


def _head(with_fulfillment_order: bool) -> list[Leg]:
    legs: list[Leg] = [(K.ERP_CREATED, 0, 0, "")]
    if with_fulfillment_order:
        legs.append((K.CRM_DRAFT, 1 * MINUTE, 30 * MINUTE, ""))
    return legs


_ALLOCATE: tuple[Leg, ...] = (
    (K.CRM_ALLOCATED, 1 * MINUTE, 20 * MINUTE, ""),
    (K.CRM_ASSIGNED, 1 * MINUTE, 20 * MINUTE, ""),
    (K.ERP_DELIVERY_DUE, 1 * MINUTE, 60 * MINUTE, ""),
    (K.WMS_CREATED, 30, 10 * MINUTE, ""),
)

_SHIP: tuple[Leg, ...] = (
    (K.WMS_OUT_DONE, 1 * HOUR, 12 * HOUR, ""),
    (K.ERP_GOODS_ISSUE, 30, 15 * MINUTE, ""),
    (K.CRM_FULFILLED, 30, 15 * MINUTE, ""),
)

#: Steps of a processing order up to its pick being done, after each of which it may rest
#: (never right after the WMS created its pickings: the PICK is reserved or found short of
#: stock in the same minutes) or be cancelled.
_UNTIL_PICKED = (
    K.CRM_ALLOCATED,
    K.CRM_ASSIGNED,
    K.ERP_DELIVERY_DUE,
    K.WMS_PICK_RESERVED,
    K.CRM_PICKPACK,
    K.CRM_PRINTED,
    K.WMS_PICK_DONE,
)

#: Steps after which a processing order may rest.
_PROCESSING_STOPS = frozenset(
    {*_UNTIL_PICKED, K.CRM_PICK_COMPLETE, K.WMS_PACK_DONE, K.TMS_LABEL, K.CRM_PACK_COMPLETE}
)

#: Steps after which an order may be cancelled.
_CANCEL_POINTS = frozenset({K.ERP_CREATED, K.CRM_DRAFT, *_UNTIL_PICKED})


def _fulfil(rng: random.Random) -> list[Leg]:
    started = K.CRM_PICKPACK if rng.random() < 0.7 else K.CRM_PRINTED
    return [
        (K.WMS_PICK_RESERVED, 1 * MINUTE, 30 * MINUTE, ""),
        (started, 30 * MINUTE, 8 * HOUR, ""),
        (K.WMS_PICK_DONE, 10 * MINUTE, 90 * MINUTE, ""),
        (K.CRM_PICK_COMPLETE, 30, 10 * MINUTE, ""),
        (K.WMS_PACK_DONE, 10 * MINUTE, 2 * HOUR, ""),
        (K.TMS_LABEL, 30, 10 * MINUTE, "wh"),
        (K.CRM_PACK_COMPLETE, 30, 10 * MINUTE, ""),
    ]


def _transit(rng: random.Random, hubs: int, express: bool) -> list[Leg]:
    speed = 0.5 if express else 1.0
    legs: list[Leg] = [(K.TMS_IN_TRANSIT, 1 * HOUR * speed, 6 * HOUR * speed, "wh")]
    hops = rng.randint(0, 1) if express else rng.randint(1, 2)
    for hub in rng.sample(range(hubs), hops):
        legs.append((K.TMS_IN_TRANSIT, 4 * HOUR * speed, 20 * HOUR * speed, f"hub:{hub}"))
    return legs


def _out_for_delivery(express: bool) -> Leg:
    speed = 0.5 if express else 1.0
    return (K.TMS_OUT_FOR_DELIVERY, 4 * HOUR * speed, 24 * HOUR * speed, "dest")


def _legs(rng: random.Random, stage: str, pickup: bool, express: bool, hubs: int) -> list[Leg]:
    """The legs from creation to where ``stage`` leaves the order."""
    if stage == "placed":
        return _head(rng.random() < 0.6)
    if stage == "on_hold":
        return [*_head(True), *_ALLOCATE, (K.WMS_PICK_WAITING_STOCK, 1 * MINUTE, 30 * MINUTE, "")]
    packed = [*_head(True), *_ALLOCATE, *_fulfil(rng)]
    if stage == "processing":
        stops = [i for i, leg in enumerate(packed) if leg[0] in _PROCESSING_STOPS]
        return packed[: rng.choice(stops) + 1]
    if stage == "cancelled":
        if rng.random() < 0.15:
            prefix = [*_head(True), *_ALLOCATE, (K.WMS_PICK_WAITING_STOCK, 60, 30 * MINUTE, "")]
        else:
            points = [i for i, leg in enumerate(packed) if leg[0] in _CANCEL_POINTS]
            prefix = packed[: rng.choice(points) + 1]
        return [*prefix, (K.CANCEL, 10 * MINUTE, 2 * DAY, "")]
    transit = _transit(rng, hubs, express)
    shipped = [*packed, *_SHIP, *transit]
    if stage == "in_transit":
        tail = [*_SHIP, *transit] + ([] if pickup else [_out_for_delivery(express)])
        weights = (
            [1.0] * len(_SHIP)
            + [3.0] * len(transit)
            + [2.0] * (len(tail) - len(_SHIP) - len(transit))
        )
        stop = rng.choices(range(len(tail)), weights)[0]
        return [*packed, *tail[: stop + 1]]
    available: Leg = (K.TMS_AVAILABLE_FOR_PICKUP, 2 * HOUR, 12 * HOUR, "dest")
    if stage == "pickup_available":
        return [*shipped, available]
    if stage == "delivered":
        if pickup:
            return [*shipped, available, (K.TMS_PICKED_UP, 4 * HOUR, 3 * DAY, "dest")]
        return [*shipped, _out_for_delivery(express), (K.TMS_DELIVERED, 1 * HOUR, 8 * HOUR, "dest")]
    if stage == "problem":
        cut = [*packed, *_SHIP, *transit[: rng.randint(1, len(transit))]]
        if not pickup and rng.random() < 0.5:
            cut.append(_out_for_delivery(express))
        return [*cut, (K.TMS_FAILURE, 1 * HOUR, 8 * HOUR, cut[-1][3])]
    if stage == "returned":
        if pickup:
            last = [available]
        else:
            last = [_out_for_delivery(express)]
            if rng.random() < 0.5:
                last.append((K.TMS_FAILURE, 1 * HOUR, 8 * HOUR, "dest"))
        return [*shipped, *last, (K.TMS_RETURN_TO_SENDER, 1 * DAY, 4 * DAY, "dest")]
    raise ValueError(f"unknown stage {stage!r}")


def plan_steps(
    rng: random.Random,
    stage: str,
    created: int,
    as_of: int,
    *,
    pickup: bool,
    express: bool,
    hubs: int,
) -> tuple[Step, ...]:
    """The order's steps from ``created`` to its ``stage``, strictly rising, all before ``as_of``.

    Gaps are drawn per leg; when the whole path would end after ``as_of`` it is
    compressed to fit (the stage's minimum age keeps every gap at a second or more).
    """
    legs = _legs(rng, stage, pickup, express, hubs)
    moments = [float(created)]
    for _, low, high, _ in legs[1:]:
        moments.append(moments[-1] + rng.uniform(low, high))
    latest = as_of - 1
    if moments[-1] > latest:
        scale = (latest - created) / (moments[-1] - created)
        moments = [created + (m - created) * scale for m in moments]
    steps: list[Step] = []
    previous = created - 1
    for (kind, _, _, where), moment in zip(legs, moments, strict=True):
        at = max(int(moment), previous + 1)
        steps.append(Step(at, kind, where))
        previous = at
    if steps[-1].at > latest:
        raise ValueError(f"an order created at {created} is too young for stage {stage!r}")
    return tuple(steps)
