"""``orderhub.client``: a small typed client of the orderhub API, over postgrest-py.

For the systems that read the hub - a carrier's or 3PL's integration, a shop's backend, an
analyst's notebook, an auditor's script - and for ``orderhub track``::

    from orderhub.client import OrderhubClient

    with OrderhubClient("http://127.0.0.1:3000", token) as hub:
        for order in hub.orders(status="in_transit", limit=50):
            print(order.order_id, order.status_since)

The token names the role (``orderhub token issue``, or the company's identity provider);
what the role may read, and which rows, the API decides (README, "The API"). Each method
selects its record's fields, leaving out the columns the token's role may not select (a
partner: customer ids and amounts; ``orderhub.api_auth.hidden_columns``), which stay
``None``. Errors are postgrest-py's ``APIError``; a tracking lookup that finds nothing
returns ``None``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import jwt
from postgrest import APIError, SyncPostgrestClient

from orderhub.api_auth import hidden_columns

Record = TypeVar("Record")
#: The error code /rpc/track answers with when no order has that id and token.
NOT_FOUND = "OH404"


@dataclass(frozen=True)
class Order:
    """A row of ``/orders``."""

    order_id: str
    canonical_status: str | None
    status_since: datetime | None
    updated_at: datetime | None
    is_terminal: bool | None
    is_orphan: bool
    status_source_system: str | None
    status_node: str | None
    store_id: str | None
    ship_to_country: str | None
    channel: str | None
    delivery_method: str | None
    created_at: datetime | None
    customer_id: str | None = None
    total_net_amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Shipment:
    """A row of ``/shipments``."""

    shipment_id: str
    order_id: str
    canonical_status: str | None
    direction: str
    partner_id: str
    carrier: str | None
    warehouse: str | None
    warehouse_operator: str | None
    tracking_code: str | None
    updated_at: datetime | None
    handed_over_at: datetime | None
    arrived_at: datetime | None
    carrier_estimated_delivery_at: datetime | None


@dataclass(frozen=True)
class TimelineStep:
    """A row of ``/order_timeline``."""

    order_id: str
    step_number: int
    event_time: datetime
    canonical_status: str
    node: str | None
    node_type: str | None
    node_name: str | None
    node_city: str | None
    node_country: str | None
    shipment_id: str | None
    source_system: str
    source_code: str
    is_regression: bool


@dataclass(frozen=True)
class OrderException:
    """A row of ``/order_exceptions``."""

    exception_id: str
    order_id: str
    exception_type: str
    severity: str
    systems: list[str]
    detected_since: datetime


@dataclass(frozen=True)
class DeliveryEstimate:
    """A row of ``/delivery_estimates``."""

    order_id: str
    delivery_method: str | None
    promised_delivery_at: datetime | None
    estimated_delivery_at: datetime | None
    estimate_source: str | None
    delivered_at: datetime | None
    is_late: bool | None


@dataclass(frozen=True)
class Checkpoint:
    """A row of ``/ledger_checkpoints``: a signed checkpoint of the provenance log."""

    tree_size: int
    root_hash: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class TrackedStep:
    """One step of a tracked order, where it happened."""

    at: datetime
    status: str
    message: str | None
    node: str | None
    node_type: str | None
    place: str | None
    city: str | None
    region: str | None
    country: str | None
    shipment_id: str | None
    carrier: str | None
    is_regression: bool


@dataclass(frozen=True)
class TrackedParcel:
    """One parcel of a tracked order."""

    shipment_id: str
    direction: str
    status: str | None
    carrier: str | None
    tracking_code: str | None
    arrived_at: datetime | None
    carrier_estimated_delivery_at: datetime | None


@dataclass(frozen=True)
class Tracking:
    """What ``/rpc/track`` tells the holder of an order's tracking token."""

    order_id: str
    status: str | None
    status_since: datetime | None
    is_terminal: bool
    delivery_method: str | None
    ship_to_country: str | None
    promised_delivery_at: datetime | None
    estimated_delivery_at: datetime | None
    estimate_source: str | None
    delivered_at: datetime | None
    is_late: bool | None
    warnings: list[dict[str, Any]]
    parcels: list[TrackedParcel]
    steps: list[TrackedStep]
    #: The delivery's well-to-wheel CO2e and the low-carbon option (fulfilment/README.md);
    #: None until the fulfilment run has accounted for the order.
    carbon: dict[str, Any] | None = None


def _convert(annotation: Any, value: Any) -> Any:
    """A JSON value as the field's type (timestamps, decimals; None stays None)."""
    if value is None:
        return None
    arguments = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in arguments if a is not type(None))
    if annotation is datetime:
        return datetime.fromisoformat(value)
    if annotation is Decimal:
        return Decimal(str(value))
    return value


def _record(cls: type[Record], row: dict[str, Any]) -> Record:
    hints = typing.get_type_hints(cls)
    values = {
        field.name: _convert(hints[field.name], row[field.name])
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.name in row
    }
    return cls(**values)


class OrderhubClient:
    """The API at ``base_url``, read with ``token`` (anonymous without one)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.role = _role_of(token)
        self._client = SyncPostgrestClient(self.base_url, schema="api")
        if token:
            self._client.auth(token)

    def __enter__(self) -> OrderhubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.aclose()

    def _select(
        self,
        view: str,
        cls: type[Record],
        filters: dict[str, Any],
        order: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        hidden = hidden_columns().get(view, {}).get(self.role or "", frozenset())
        names = [f.name for f in dataclasses.fields(cls) if f.name not in hidden]  # type: ignore[arg-type]
        query = self._client.from_(view).select(",".join(names))
        for column, value in filters.items():
            if value is not None:
                query = query.eq(column, value)
        if order:
            query = query.order(order.removesuffix(".desc"), desc=order.endswith(".desc"))
        if limit is not None:
            query = query.limit(limit)
        return [_record(cls, row) for row in query.execute().data]

    def orders(
        self, *, status: str | None = None, order_id: str | None = None, limit: int | None = None
    ) -> list[Order]:
        """Orders, newest update first (in ``status``, or the one ``order_id``)."""
        filters = {"canonical_status": status, "order_id": order_id}
        return self._select("orders", Order, filters, "updated_at.desc", limit)

    def order(self, order_id: str) -> Order | None:
        """One order, or None when there is none this token may read."""
        found = self.orders(order_id=order_id)
        return found[0] if found else None

    def shipments(self, order_id: str | None = None) -> list[Shipment]:
        return self._select("shipments", Shipment, {"order_id": order_id}, "shipment_id")

    def timeline(self, order_id: str) -> list[TimelineStep]:
        return self._select("order_timeline", TimelineStep, {"order_id": order_id}, "step_number")

    def exceptions(self, order_id: str | None = None) -> list[OrderException]:
        filters = {"order_id": order_id}
        return self._select("order_exceptions", OrderException, filters, "detected_since")

    def delivery_estimate(self, order_id: str) -> DeliveryEstimate | None:
        found = self._select("delivery_estimates", DeliveryEstimate, {"order_id": order_id})
        return found[0] if found else None

    def checkpoints(self, limit: int = 1) -> list[Checkpoint]:
        """The provenance log's latest signed checkpoints."""
        return self._select("ledger_checkpoints", Checkpoint, {}, "tree_size.desc", limit)

    def track(self, order_id: str, tracking_token: str) -> Tracking | None:
        """``/rpc/track``: the order, for the holder of its tracking token; None when no order
        has that id and token."""
        try:
            data = (
                self._client.rpc("track", {"order_id": order_id, "tracking_token": tracking_token})
                .execute()
                .data
            )
        except APIError as error:
            if error.code == NOT_FOUND:
                return None
            raise
        tracking = _record(Tracking, data)
        return dataclasses.replace(
            tracking,
            parcels=[_record(TrackedParcel, parcel) for parcel in data["parcels"]],
            steps=[_record(TrackedStep, step) for step in data["steps"]],
        )


def _role_of(token: str | None) -> str | None:
    """The role a token names (read, not verified: the API verifies it)."""
    if not token:
        return None
    claims = jwt.decode(token, options={"verify_signature": False})
    role = claims.get("role")
    return str(role) if role else None
