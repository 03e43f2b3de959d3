"""The generated scenario's orders, drawn again from the seed whenever one is read.

:class:`OrderBook` keeps no :class:`~sandbox.model.Order`: :meth:`OrderBook.order` draws
order ``i`` from its own generator (:mod:`sandbox.drafts`) and completes it with what ties
it to the others, which one streaming pass over the orders worked out when the book was
made and keeps in arrays of small ints (about 21 bytes an order):

- its creation time (orders are numbered oldest first) and its stage (drawn per age, then
  every stage given at least one order when the scenario is big enough);
- the CRM's fulfillment order number and the WMS's picking ids and per-warehouse sequence
  numbers, handed out in the order the CRM and the WMS received the orders (found with a
  heap holding only the orders received within hours of each other, since an order
  reaches both a few hours after it was created);
- the anomalies (:mod:`sandbox.anomalies`), a few orders each, by index.

The book also keeps the last orders read (:data:`RECENT`), so the WMS's three pickings of
an order or a test reading every order of a small scenario draw each order once.
"""

from __future__ import annotations

import heapq
import random
from array import array
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import overload

from sandbox.anomalies import Count, bend, choose
from sandbox.clock import from_epoch
from sandbox.drafts import (
    Draft,
    creation_times,
    customer_counts,
    draft,
    first_at,
    order_rng,
)
from sandbox.lifecycle import draw_stage, ensure_every_stage
from sandbox.model import STAGES, Anomaly, Order
from sandbox.model import StepKind as K

FIRST_SALES_ORDER = 1_000_001
#: How many orders the book keeps built (the most recently read).
RECENT = 2048


class _Arrivals:
    """Hands out numbers in the order orders reach a system: a heap of the orders that
    reached it but may still be overtaken by one created later."""

    def __init__(self) -> None:
        self.waiting: list[tuple[int, int, str]] = []
        self.handed: list[tuple[int, str]] = []

    def reach(self, at: int | None, index: int, warehouse: str) -> None:
        if at is not None:
            heapq.heappush(self.waiting, (at, index, warehouse))

    def settle(self, until: float) -> Iterator[tuple[int, str]]:
        """The orders (index, warehouse) that reached it at or before ``until``, in order:
        no order created after ``until`` can reach it earlier."""
        while self.waiting and self.waiting[0][0] <= until:
            _, index, warehouse = heapq.heappop(self.waiting)
            yield index, warehouse


class OrderBook:
    """``count`` orders created over the history before ``as_of`` (epoch seconds),
    reproducible from ``seed``; ``anomalies`` orders per anomaly kind."""

    def __init__(self, seed: int, count: int, as_of: int, anomalies: Count) -> None:
        self.seed, self.count, self.as_of = seed, count, as_of
        self._customers = (seed, customer_counts(max(24, count // 4)))
        self.created = array("q", creation_times(seed, count, as_of))
        self.stages = self._draw_stages()
        #: CRM fulfillment order number (0: none), WMS arrival rank (-1: none) and the
        #: per-warehouse sequence number of its pickings.
        self.fulfillment = array("i", bytes(4 * count))
        self.picking_rank = array("i", [-1]) * count
        self.picking_number = array("i", bytes(4 * count))
        newest = self._arrivals()
        self.order = lru_cache(maxsize=RECENT)(self._order)
        self.anomalies: dict[int, Anomaly] = choose(self._plain, count, seed, anomalies, newest)

    def _draw_stages(self) -> array[int]:
        rng = random.Random(f"orderhub-sandbox-stages:{self.seed}")
        ages = array("q", (self.as_of - moment for moment in self.created))
        stages = [draw_stage(rng, age) for age in ages]
        ensure_every_stage(rng, stages, ages)
        number = {stage: n for n, stage in enumerate(STAGES)}
        return array("B", (number[stage] for stage in stages))

    def _arrivals(self) -> int:
        """Number the orders as the CRM and the WMS received them; the latest step of any
        order (what anomalies may not go past)."""
        crm, wms = _Arrivals(), _Arrivals()
        sequence: dict[str, int] = {}
        crm_number = wms_rank = 0
        newest = 0

        def settle(until: float) -> None:
            nonlocal crm_number, wms_rank
            for index, _ in crm.settle(until):
                crm_number += 1
                self.fulfillment[index] = crm_number
            for index, warehouse in wms.settle(until):
                self.picking_rank[index] = wms_rank
                wms_rank += 1
                sequence[warehouse] = sequence.get(warehouse, 0) + 1
                self.picking_number[index] = sequence[warehouse]

        for index in range(self.count):
            settle(self.created[index])
            drawn = self._draft(index)
            crm.reach(first_at(drawn.steps, K.CRM_DRAFT), index, drawn.warehouse)
            wms.reach(first_at(drawn.steps, K.WMS_CREATED), index, drawn.warehouse)
            newest = max(newest, drawn.steps[-1].at)
        settle(float("inf"))
        return newest

    def _draft(self, index: int) -> Draft:
        stage = STAGES[self.stages[index]]
        return draft(
            order_rng(self.seed, index), stage, self.created[index], self.as_of, self._customers
        )

    def _plain(self, index: int) -> Order:
        """Order ``index`` as drawn, without its anomaly."""
        d = self._draft(index)
        rank = self.picking_rank[index]
        number = self.picking_number[index]
        return Order(
            order_id=str(FIRST_SALES_ORDER + index),
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
            fulfillment_number=self.fulfillment[index],
            picking_ids=() if rank < 0 else (3 * rank + 1, 3 * rank + 2, 3 * rank + 3),
            picking_numbers=() if rank < 0 else (number, number, number),
            tracker_id=d.tracker_id,
            tracking_code=d.tracking_code,
            signed_by=d.signed_by,
        )

    def _order(self, index: int) -> Order:
        if not 0 <= index < self.count:
            raise IndexError(f"order index {index} out of range")
        order = self._plain(index)
        anomaly = self.anomalies.get(index)
        return order if anomaly is None else bend(order, anomaly)

    def order_id(self, index: int) -> str:
        """The sales order number of order ``index``."""
        return str(FIRST_SALES_ORDER + index)

    def stage(self, index: int) -> str:
        """The stage of order ``index`` (a stuck order is on hold), without drawing it."""
        anomaly = self.anomalies.get(index)
        if anomaly is not None and anomaly.kind == "stuck":
            return "on_hold"
        return STAGES[self.stages[index]]


class OrderList(Sequence[Order]):
    """The book's orders as a read-only sequence, each drawn when it is read."""

    def __init__(self, book: OrderBook) -> None:
        self._book = book

    def __len__(self) -> int:
        return self._book.count

    @overload
    def __getitem__(self, index: int) -> Order: ...

    @overload
    def __getitem__(self, index: slice) -> list[Order]: ...

    def __getitem__(self, index: int | slice) -> Order | list[Order]:
        if isinstance(index, slice):
            return [self._book.order(n) for n in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self._book.order(index)

    def __iter__(self) -> Iterator[Order]:
        return map(self._book.order, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


__all__ = ["FIRST_SALES_ORDER", "OrderBook", "OrderList"]
