"""The messy scenario: hand-written histories that go wrong the ways real ones do.

``python -m sandbox --scenario messy`` (``orderhub demo --scenario messy``) serves it.
Unlike the generated scenario it plays in :data:`~sandbox.messy.plan.ROUNDS` rounds: the
sandbox serves round 1 and moves the world on to the next round when asked
(``POST /rounds/next``), so each round is one more sync. Its cases
(:meth:`MessyScenario.cases`) produce each class of trouble several ways - shipments (split
orders, partial deliveries, returns, exchanges), corrections (a record moving to another
order; references missing for a round, which fails the blocking check on the events),
skewed clocks, contradictions at the same instant, orphans, code variants, back-office
noise, a stuck order - and say for every round what ``/orders``, ``/order_timeline``,
``/order_exceptions`` and ``/shipments`` must serve (:mod:`sandbox.messy.truth`), written
from the plan, never read from the canonical model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderhub.sources import API_SYSTEMS
from sandbox.clock import epoch
from sandbox.messy import cases_clocks, cases_corrections, cases_shipments, cases_sources
from sandbox.messy.plan import ROUND_ENDS, ROUNDS, Plan
from sandbox.messy.render import render
from sandbox.messy.truth import (
    ExceptionTruth,
    OrderTruth,
    ShipmentTruth,
    StepTruth,
    exceptions_at,
    orders_at,
    shipments_at,
    steps_at,
)
from sandbox.scenario import DEFAULT_AS_OF


class MessyScenario:
    """The messy cases' records, round by round, and what the canonical model must make
    of them; reproducible from ``as_of`` alone."""

    name = "messy"
    rounds = ROUNDS

    def __init__(self, as_of: datetime = DEFAULT_AS_OF) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        self.as_of = as_of.astimezone(UTC)
        self.plan = Plan(epoch(self.as_of))
        for module in (cases_shipments, cases_corrections, cases_clocks, cases_sources):
            module.plan_cases(self.plan)
        self._check_rounds()

    def __repr__(self) -> str:
        return f"MessyScenario(as_of={self.as_of:%Y-%m-%dT%H:%M:%SZ})"

    def describe(self) -> str:
        """One line on what the scenario is."""
        return (
            f"messy, {len(self.cases())} cases, {len(self.orders_at(self.rounds))} "
            f"orders in {self.rounds} rounds (POST /rounds/next moves the world on)"
        )

    def cases(self) -> list[tuple[str, str, str]]:
        """(name, class, what it shows) of every case."""
        return list(self.plan.cases)

    def _check_rounds(self) -> None:
        """Every version is written inside its round, so each round only moves cursors on."""
        for record in self.plan.records:
            for round_number, cursor, _, _ in record.versions:
                hours = (cursor - self.plan.as_of) / 3600
                low = ROUND_ENDS[round_number - 2] if round_number > 1 else float("-inf")
                if not low < hours <= ROUND_ENDS[round_number - 1]:
                    raise ValueError(
                        f"{record.system} {record.key}: a round {round_number} version written "
                        f"at {hours:+.1f} h"
                    )

    # ----------------------------------------------------------------- records

    def records(self, system: str) -> list[dict[str, Any]]:
        """The records of ``system`` as round 1 serves them."""
        return self.world(1, system)

    def world(self, round_number: int, system: str) -> list[dict[str, Any]]:
        """Every record of ``system`` as round ``round_number`` serves it."""
        self._system(system)
        rendered = (render(self.plan, r, round_number) for r in self.plan.records)
        return [
            r
            for r, plan in zip(rendered, self.plan.records, strict=True)
            if r and plan.system == system
        ]

    def changes(self, round_number: int, system: str) -> list[dict[str, Any]]:
        """The records of ``system`` that round ``round_number`` adds or changes."""
        self._system(system)
        return [
            record
            for plan in self.plan.records
            if plan.system == system and any(v[0] == round_number for v in plan.versions)
            for record in [render(self.plan, plan, round_number)]
            if record is not None
        ]

    @staticmethod
    def _system(system: str) -> None:
        if system not in API_SYSTEMS:
            raise ValueError(f"unknown system {system!r}; expected one of {API_SYSTEMS}")

    # ----------------------------------------------------------------- truth

    def orders_at(self, round_number: int) -> dict[str, bool]:
        """Order id → whether it is an orphan (no ERP order), as round ``round_number`` shows."""
        return orders_at(self.plan, round_number)

    def expected_orders(self, round_number: int) -> set[OrderTruth]:
        """What ``/orders`` must serve after round ``round_number``: status, orphan flag."""
        return {
            OrderTruth(order_id, exp.status, exp.orphan)
            for order_id, exp in self._expectations(round_number).items()
        }

    def expected_timeline(self, round_number: int) -> set[StepTruth]:
        """What ``/order_timeline`` must serve after round ``round_number``."""
        return steps_at(self.plan, round_number, self._expectations(round_number))

    def expected_exceptions(self, round_number: int) -> set[ExceptionTruth]:
        """What ``/order_exceptions`` must serve after round ``round_number``."""
        return exceptions_at(self._expectations(round_number))

    def expected_shipments(self, round_number: int) -> set[ShipmentTruth]:
        """What ``/shipments`` must serve after round ``round_number``."""
        return shipments_at(self._expectations(round_number))

    def _expectations(self, round_number: int) -> dict[str, Any]:
        found = {}
        for order_id, orphan in self.orders_at(round_number).items():
            stated = [
                e
                for e in self.plan.expectations
                if e.order_id == order_id and e.from_round <= round_number
            ]
            if not stated:
                raise ValueError(f"round {round_number}: nothing expected of order {order_id}")
            expectation = max(stated, key=lambda e: e.from_round)
            if expectation.orphan != orphan:
                raise ValueError(f"round {round_number}: order {order_id} orphan={orphan}")
            found[order_id] = expectation
        return found


__all__ = [
    "ExceptionTruth",
    "MessyScenario",
    "OrderTruth",
    "ShipmentTruth",
    "StepTruth",
]
