"""The sandbox scenario: one reproducible list of orders and every source record they imply.

``Scenario(seed, orders, as_of)`` draws ``orders`` orders created over the 120 days
before ``as_of`` (8 SKUs, 6 stores in 4 regions, 2 warehouses; demand with a weekly
pattern and a mild upward trend), gives each a stage fitting its age, and lays out its
lifecycle. Everything comes from ``seed``: the same arguments give the same records, byte
for byte. The orders are not held: each is drawn again from the seed and its index when it
is read (:mod:`sandbox.orderbook`), so a scenario of a million orders keeps a few arrays of
small ints, and the sandbox's store keeps each record's sort key and its order's index.

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

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from orderhub.sources import API_SYSTEMS
from sandbox.anomalies import Count
from sandbox.clock import epoch
from sandbox.drafts import HISTORY_DAYS
from sandbox.model import ANOMALY_EXCEPTIONS, STAGES, Order
from sandbox.orderbook import FIRST_SALES_ORDER, OrderBook, OrderList
from sandbox.records import crm_record, erp_record, lazy_records, tms_record, wms_records
from sandbox.store import Lazy

DEFAULT_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


class Scenario:
    """Orders and the records of all four systems, reproducible from ``seed``.

    It plays in one round: the world it serves never moves on (see the messy scenario,
    :mod:`sandbox.messy`, for one that does).
    """

    name = "default"
    rounds = 1

    def __init__(
        self,
        seed: int = 7,
        orders: int = 400,
        as_of: datetime = DEFAULT_AS_OF,
        anomalies: Count = 1,
    ) -> None:
        if orders < 0:
            raise ValueError(f"orders must be 0 or more, got {orders}")
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        self.seed = seed
        self.order_count = orders
        self.as_of = as_of.astimezone(UTC)
        self.anomaly_count = anomalies
        self._book = OrderBook(seed, orders, epoch(self.as_of), anomalies)
        self._orders = OrderList(self._book)

    def __repr__(self) -> str:
        when = f"{self.as_of:%Y-%m-%dT%H:%M:%SZ}"
        return (
            f"Scenario(seed={self.seed}, orders={self.order_count}, as_of={when}, "
            f"anomalies={self.anomaly_count})"
        )

    # ------------------------------------------------------------------ orders

    @property
    def orders(self) -> OrderList:
        """Every order, oldest first: a read-only sequence that draws each order when it
        is read (the orders themselves are frozen)."""
        return self._orders

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders)

    def __len__(self) -> int:
        return len(self._orders)

    def expected_status(self) -> dict[str, str]:
        """Order id → the canonical status its stage implies."""
        book = self._book
        return {book.order_id(n): book.stage(n) for n in range(len(self))}

    def expected_exceptions(self) -> dict[str, set[str]]:
        """Order id → the exception types the canonical model must report for it.

        Only orders with an exception are keys; every other order must have none.
        """
        return {
            self._book.order_id(n): set(ANOMALY_EXCEPTIONS[anomaly.kind])
            for n, anomaly in sorted(self._book.anomalies.items())
            if ANOMALY_EXCEPTIONS[anomaly.kind]
        }

    def describe(self) -> str:
        """One line on what the scenario is."""
        return (
            f"{self.order_count} orders, seed {self.seed}, {len(self.anomalies())} with an "
            "anomaly (expect exceptions)"
        )

    def anomalies(self) -> dict[str, str]:
        """Order id → the kind of anomaly it carries (orders without one left out)."""
        anomalies = sorted(self._book.anomalies.items())
        return {self._book.order_id(n): anomaly.kind for n, anomaly in anomalies}

    def stage_counts(self) -> dict[str, int]:
        """How many orders are in each stage (every stage listed, zeros included)."""
        counts = Counter(map(self._book.stage, range(len(self))))
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

    def changes(self, round_number: int, system: str) -> list[dict[str, Any]]:
        """The records of ``system`` a later round changes: none, there is one round."""
        raise ValueError(f"the {self.name} scenario has no round {round_number}")

    def lazy_records(self, systems: Sequence[str]) -> Iterator[tuple[str, dict[str, Any], Lazy]]:
        """Each record of ``systems`` once, as (system, record, the
        :class:`~sandbox.store.Lazy` that builds it again from its order's index): what the
        sandbox's store keeps instead of the record. Each order is drawn once for all."""
        unknown = [system for system in systems if system not in API_SYSTEMS]
        if unknown:
            raise ValueError(f"unknown system {unknown[0]!r}; expected one of {API_SYSTEMS}")
        return lazy_records(len(self), self._book.order, systems)

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


__all__ = ["DEFAULT_AS_OF", "FIRST_SALES_ORDER", "HISTORY_DAYS", "Scenario"]
