"""The fields a stored version carries when it says that its record is gone.

A source that pushes a deletion (SAP's ``SalesOrder.Deleted`` business event, received by
the live path) and the key reconciliation that finds a record missing from a source's
listing (:mod:`connectors.reconcile`) both store a new version of the record with one of
these fields set; the staging models read them (``stg_erp__sales_orders``).
"""

#: The field of a version a pushed deletion event stored: the event's type.
DELETED_BY_EVENT = "_deleted_by_event"
#: The field of a version the reconciliation stored: when the key was found missing.
RECONCILED_BY = "_deleted_by_reconciliation"
#: The fields that make a version say its record is gone.
DELETION_FLAGS = (DELETED_BY_EVENT, RECONCILED_BY)

__all__ = ["DELETED_BY_EVENT", "DELETION_FLAGS", "RECONCILED_BY"]
