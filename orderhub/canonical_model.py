"""The canonical order-status vocabulary, in one place.

The dbt crosswalk seed maps every source code onto these values; the crosswalk lint,
the Great Expectations suites and the sandbox's ground truth all check against them.
Change them together with ``dbt_project/seeds/status_crosswalk.csv`` and docs/sources.md.
The exception types are those ``fct_order_exceptions`` reports (change them with it).
"""

from __future__ import annotations

#: The canonical statuses, close to schema.org OrderStatus, in lifecycle order.
CANONICAL_STATUSES: tuple[str, ...] = (
    "placed",
    "payment_due",
    "processing",
    "on_hold",
    "partially_fulfilled",
    "in_transit",
    "pickup_available",
    "delivered",
    "problem",
    "cancelled",
    "returned",
)

#: The canonical statuses that end an order's lifecycle.
TERMINAL_STATUSES: frozenset[str] = frozenset({"delivered", "cancelled", "returned"})

#: The exception types ``fct_order_exceptions`` reports, in the order the model lists them.
EXCEPTION_TYPES: tuple[str, ...] = (
    "unmapped_status_code",
    "terminal_conflict",
    "regression_after_terminal",
    "misroute",
    "shipped_before_payment",
    "stuck_beyond_sla",
    "status_conflict",
    "clock_skew",
    "orphan_record",
    "record_reassigned",
)
