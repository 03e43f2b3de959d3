"""The messy scenario's ground truth: what the api must serve after each round.

Written from the plan alone (:mod:`sandbox.messy.plan`): which orders exist (an order the
ERP has not sent but another record references is an orphan), which facts are on which
order (the order its record's latest version references), the shipment each belongs to,
and what each case's author said the canonical model must conclude. Each truth is a set of
small frozen rows, compared with what the api serves as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sandbox.catalog import WAREHOUSE_OPERATORS
from sandbox.clock import from_epoch
from sandbox.messy.plan import Expectation, Plan


@dataclass(frozen=True, order=True)
class OrderTruth:
    """A row of ``/orders``: the order's canonical status and whether it is an orphan."""

    order_id: str
    canonical_status: str
    is_orphan: bool


@dataclass(frozen=True, order=True)
class StepTruth:
    """A row of ``/order_timeline``: one event of an order and its role."""

    order_id: str
    event_time: datetime
    source_system: str
    source_code: str
    shipment_id: str | None
    decides_status: bool
    is_regression: bool
    is_clock_skewed: bool


@dataclass(frozen=True, order=True)
class ExceptionTruth:
    """A row of ``/order_exceptions``: type and the systems involved."""

    order_id: str
    exception_type: str
    systems: tuple[str, ...]


@dataclass(frozen=True, order=True)
class ShipmentTruth:
    """A row of ``/shipments``: a parcel's status, direction and the partner handling it."""

    shipment_id: str
    order_id: str
    canonical_status: str
    direction: str
    partner_id: str


def orders_at(plan: Plan, round_number: int) -> dict[str, bool]:
    """Order id → orphan, for every order round ``round_number`` shows: the ERP's orders and
    every order another record's latest version references."""
    erp, referenced = set(), set()
    for record in plan.records:
        version = record.version_at(round_number)
        if version is None:
            continue
        if record.system == "erp":
            erp.add(record.key)
        elif version[2] is not None:
            referenced.add(version[2])
    return {order_id: order_id not in erp for order_id in sorted(erp | referenced)}


def steps_at(
    plan: Plan, round_number: int, expectations: Mapping[str, Expectation]
) -> set[StepTruth]:
    """The timeline rows after round ``round_number``: every mapped fact served by then, on
    the order its record references then, deciding when the case says so."""
    steps = set()
    decided = {order_id: exp.deciding for order_id, exp in expectations.items()}
    for record in plan.records:
        version = record.version_at(round_number)
        if version is None:
            continue
        order_id = record.key if record.system == "erp" else version[2]
        if order_id is None:
            continue
        shipment = record.shipment_at(round_number)
        for fact in record.facts:
            if fact.round > round_number or not fact.mapped:
                continue
            steps.add(
                StepTruth(
                    order_id,
                    from_epoch(fact.at),
                    fact.system,
                    fact.code,
                    shipment,
                    decided[order_id] is fact,
                    fact.regression,
                    fact.skewed,
                )
            )
    for order_id in decided:
        if not any(step.order_id == order_id and step.decides_status for step in steps):
            raise ValueError(f"round {round_number}: order {order_id}'s deciding fact is not on it")
    return steps


def exceptions_at(expectations: Mapping[str, Expectation]) -> set[ExceptionTruth]:
    """The exception rows the expectations state."""
    return {
        ExceptionTruth(order_id, kind, systems)
        for order_id, exp in expectations.items()
        for kind, systems in exp.exceptions
    }


def shipments_at(expectations: Mapping[str, Expectation]) -> set[ShipmentTruth]:
    """The shipment rows the expectations state; a shipment handled by a warehouse is
    handled by the warehouse's operator."""
    return {
        ShipmentTruth(
            shipment_id, order_id, status, direction, WAREHOUSE_OPERATORS.get(partner, partner)
        )
        for order_id, exp in expectations.items()
        for shipment_id, status, direction, partner in exp.shipments
    }


__all__ = [
    "ExceptionTruth",
    "OrderTruth",
    "ShipmentTruth",
    "StepTruth",
    "exceptions_at",
    "orders_at",
    "shipments_at",
    "steps_at",
]
