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
from datetime import UTC, date, datetime
from typing import Any

from orderhub.sources import API_SYSTEMS
from sandbox.anomalies import Count, inject
from sandbox.changes import next_version
from sandbox.clock import epoch
from sandbox.generation import generate
from sandbox.model import STAGES, Order
from sandbox.records import crm_record, erp_record, lazy_records, tms_record, wms_records
from sandbox.store import Lazy

DEFAULT_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


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
        generated = generate(random.Random(seed), orders, epoch(self.as_of))
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
