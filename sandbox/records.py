"""Render an order's steps into the records each system serves (docs/sources.md).

Each system's record is the state the order's steps left it in, and its cursor field is
the time of the last step that changed it; an order's :class:`~sandbox.model.
Anomaly` bends the record of the system it concerns. These functions build fresh dicts
on every call, exactly as the APIs put them on the wire (a WMS picking served lazily may
have been built with its order's others for an earlier call; each is handed out once; a
TMS tracker, :mod:`sandbox.trackers`, shares each place's ``tracking_location``);
:func:`lazy_records` pairs each record with the :class:`~sandbox.store.Lazy` that
builds it again, which is what the sandbox's store keeps of a generated scenario.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sandbox.catalog import Place
from sandbox.model import Order
from sandbox.model import StepKind as K
from sandbox.shapes import (
    PickingHead,
    Record,
    SalesOrderHead,
    fulfillment_order,
    picking,
    sales_order,
)
from sandbox.store import Lazy
from sandbox.trackers import tms_head, tms_record

# ---------------------------------------------------------------------------- erp


def financial_status(order: Order) -> str:
    """The web shop's payment status the ERP carries (empty for store orders).

    Web orders are paid at checkout (PAID), refunded when cancelled (REFUNDED); the
    ``unpaid_shipment`` anomaly leaves the payment PENDING.
    """
    if order.channel != "web":
        return ""
    if order.anomaly is not None and order.anomaly.kind == "unpaid_shipment":
        return "PENDING"
    if any(step.kind == K.CANCEL for step in order.steps):
        return "REFUNDED"
    return "PAID"


def erp_record(order: Order) -> Record:
    """The ``A_SalesOrder`` entity, with ``to_Item`` expanded."""
    process, delivery, rejection = "A", "", "A"
    changed = order.created_ts
    for step in order.steps:
        if step.kind == K.ERP_DELIVERY_DUE:
            process, delivery, changed = "B", "A", step.at
        elif step.kind == K.ERP_GOODS_ISSUE:
            process, delivery, changed = "C", "C", step.at
        elif step.kind == K.CANCEL:
            process, rejection, changed = "C", "C", step.at
    if order.anomaly is not None and order.anomaly.kind == "terminal_conflict":
        # the ERP alone rejects the order while the carrier is still delivering it
        process, rejection, changed = "C", "C", order.anomaly.at
    head = SalesOrderHead(
        order_id=order.order_id,
        channel=order.channel,
        customer=order.customer,
        store=order.store,
        region=order.region,
        ship_to=Place(
            order.ship_to_country, order.ship_to_region, order.ship_to_city, order.ship_to_zip
        ),
        created=order.created_ts,
        lines=order.lines,
    )
    return sales_order(
        head,
        changed=changed,
        process=process,
        delivery=delivery,
        rejection=rejection,
        financial=financial_status(order),
    )


# ---------------------------------------------------------------------------- crm

_CRM_STATUS: dict[str, str] = {
    K.CRM_DRAFT: "Draft",
    K.CRM_ALLOCATED: "Allocated",
    K.CRM_ASSIGNED: "Assigned",
    K.CRM_PICKPACK: "Pickpack",
    K.CRM_PRINTED: "Printed",
    K.CRM_PICK_COMPLETE: "Pick Complete",
    K.CRM_PACK_COMPLETE: "Pack Complete",
    K.CRM_FULFILLED: "Fulfilled",
}


def crm_record(order: Order) -> Record | None:
    """The ``FulfillmentOrder``, or ``None`` while order management has not created one."""
    created = status = None
    changed = 0
    for step in order.steps:
        if step.kind == K.CRM_DRAFT:
            created = step.at
        if created is None:
            continue
        if step.kind in _CRM_STATUS:
            status, changed = _CRM_STATUS[step.kind], step.at
        elif step.kind == K.CANCEL:
            status, changed = "Canceled", step.at
    if created is None:
        return None
    return fulfillment_order(
        order.fulfillment_number,
        order.order_id,
        status or "",
        warehouse=order.warehouse,
        method=order.delivery_method,
        country=order.ship_to_country,
        created=created,
        modified=changed,
    )


# ---------------------------------------------------------------------------- wms

PICKING_TYPES: tuple[str, ...] = ("PICK", "PACK", "OUT")


def wms_records(order: Order) -> list[Record]:
    """The PICK, PACK and OUT pickings (none before the WMS got the order)."""
    created = None
    states: list[str] = []
    written: list[int] = []
    done: list[int | None] = [None, None, None]
    for step in order.steps:
        kind, at = step.kind, step.at
        if kind == K.WMS_CREATED:
            created = at
            states, written = ["draft", "waiting", "waiting"], [at, at, at]
        elif created is None:
            continue
        elif kind == K.WMS_PICK_RESERVED:
            states[0], written[0] = "assigned", at
        elif kind == K.WMS_PICK_WAITING_STOCK:
            states[0], written[0] = "confirmed", at
        elif kind in (K.WMS_PICK_DONE, K.WMS_PACK_DONE):
            n = 0 if kind == K.WMS_PICK_DONE else 1
            states[n], written[n], done[n] = "done", at, at
            states[n + 1], written[n + 1] = "assigned", at
        elif kind == K.WMS_OUT_DONE:
            states[2], written[2], done[2] = "done", at, at
        elif kind == K.CANCEL:
            for n in range(3):
                if states[n] != "done":
                    states[n], written[n] = "cancel", at
    if created is None:
        return []
    moves = tuple((line.sku, line.quantity) for line in order.lines)
    return [
        picking(
            PickingHead(
                picking_id=order.picking_ids[n],
                type_code=type_code,
                number=order.picking_numbers[n],
                warehouse=order.warehouse,
                created=created,
                moves=moves,
            ),
            origin=order.order_id,
            state=states[n],
            written=written[n],
            done=done[n],
        )
        for n, type_code in enumerate(PICKING_TYPES)
    ]


#: An order's pickings built but not handed out yet, for the last orders served (a picking
#: is built with its order's others; each built dict is handed out once).
_UNSERVED: OrderedDict[int, tuple[Order, list[Record | None]]] = OrderedDict()
_UNSERVED_ORDERS = 1024
_UNSERVED_LOCK = threading.Lock()


def _wms_record(arg: tuple[Order, int]) -> Record:
    """Picking ``n`` of ``order``: one built with it for an earlier call and not handed out
    yet (the order kept with it is this very order), else its order's pickings built anew."""
    order, n = arg
    with _UNSERVED_LOCK:
        kept = _UNSERVED.get(id(order))
        if kept is not None and kept[0] is order and kept[1][n] is not None:
            record, kept[1][n] = kept[1][n], None
            return record  # type: ignore[return-value]
    pickings: list[Record | None] = list(wms_records(order))
    record, pickings[n] = pickings[n], None
    with _UNSERVED_LOCK:
        _UNSERVED[id(order)] = (order, pickings)
        _UNSERVED.move_to_end(id(order))
        while len(_UNSERVED) > _UNSERVED_ORDERS:
            _UNSERVED.popitem(last=False)
    return record  # type: ignore[return-value]


#: How one order's record of each system is built (the WMS: one of its pickings).
_BUILDERS: dict[str, Callable[[Any], Record | None]] = {
    "erp": erp_record, "crm": crm_record, "wms": _wms_record, "tms": tms_record,
}  # fmt: skip


#: The fields of a system's record that a view sorts by, without building it (the TMS's
#: list order: sandbox/apis/tms.py).
_HEADS: dict[str, Callable[[Any], Record]] = {"tms": tms_head}


def lazy_records(orders: Iterable[Order], system: str) -> Iterator[tuple[Record, Lazy]]:
    """Each record of ``system`` the ``orders`` imply, once, with the
    :class:`~sandbox.store.Lazy` that builds it again from its order."""
    build = _BUILDERS[system]
    for order in orders:
        if system == "wms":
            for n, record in enumerate(wms_records(order)):
                yield record, Lazy(_wms_record, (order, n))
        elif (record := build(order)) is not None:
            yield record, Lazy(build, order, _HEADS.get(system))
