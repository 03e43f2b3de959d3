"""The status vocabularies of the source systems orderhub speaks, from their vendors' documentation.

:data:`SERVED` lists, per ``(system, source field)`` as the dbt project names them, every
code a source system documents for that field: SAP SD status fields of ``A_SalesOrder``
(blank is sent empty and is ``BLANK`` in staging), the web shop's (Shopify
``displayFinancialStatus``) payment status the ERP carries in an S/4HANA key-user
extension field, SAP's ``SalesOrder.Deleted`` business event (a deletion), Salesforce
``FulfillmentOrder.Status`` and ``IsDeleted`` (a deletion),
Odoo ``stock.picking.state`` per picking type, and the EasyPost tracker status. ``orderhub
crosswalk lint`` checks that the crosswalk covers every code listed here; the sandbox sends
these codes and nothing else in normal operation.
"""

from __future__ import annotations

SAP_SD_STATUS: tuple[str, ...] = ("BLANK", "A", "B", "C")
SHOPIFY_FINANCIAL_STATUS: tuple[str, ...] = (
    "AUTHORIZED",
    "EXPIRED",
    "PAID",
    "PARTIALLY_PAID",
    "PARTIALLY_REFUNDED",
    "PENDING",
    "REFUNDED",
    "VOIDED",
)
SALESFORCE_FULFILLMENT_ORDER_STATUS: tuple[str, ...] = (
    "Draft",
    "Allocated",
    "Assigned",
    "Pickpack",
    "Printed",
    "Pick Complete",
    "Pack Complete",
    "Fulfilled",
    "Canceled",
    "Rejected",
)
#: Salesforce ``IsDeleted``, as the dbt project observes it: only a deleted record is an event.
SALESFORCE_IS_DELETED: tuple[str, ...] = ("true",)
#: SAP's ``SalesOrder.Deleted`` business event, as the dbt project observes it: ``true``.
SAP_SALES_ORDER_DELETED: tuple[str, ...] = ("true",)
ODOO_PICKING_STATE: tuple[str, ...] = (
    "draft",
    "waiting",
    "confirmed",
    "assigned",
    "done",
    "cancel",
)
EASYPOST_TRACKER_STATUS: tuple[str, ...] = (
    "unknown",
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "available_for_pickup",
    "return_to_sender",
    "failure",
    "cancelled",
    "error",
)

#: The ERP field that carries the web shop's financial status (empty for store orders).
FINANCIAL_STATUS_FIELD = "YY1_ShopFinancialStatus_SDH"

#: (system, source field) → every code the vendor documents there.
SERVED: dict[tuple[str, str], tuple[str, ...]] = {
    ("erp", "OverallSDProcessStatus"): SAP_SD_STATUS,
    ("erp", "OverallTotalDeliveryStatus"): SAP_SD_STATUS,
    ("erp", "OverallSDDocumentRejectionSts"): SAP_SD_STATUS,
    ("erp", FINANCIAL_STATUS_FIELD): SHOPIFY_FINANCIAL_STATUS,
    ("erp", "SalesOrder.Deleted"): SAP_SALES_ORDER_DELETED,
    ("crm", "FulfillmentOrder.Status"): SALESFORCE_FULFILLMENT_ORDER_STATUS,
    ("crm", "FulfillmentOrder.IsDeleted"): SALESFORCE_IS_DELETED,
    ("wms", "PICK.state"): ODOO_PICKING_STATE,
    ("wms", "PACK.state"): ODOO_PICKING_STATE,
    ("wms", "OUT.state"): ODOO_PICKING_STATE,
    ("tms", "tracker.status"): EASYPOST_TRACKER_STATUS,
}

__all__ = ["FINANCIAL_STATUS_FIELD", "SERVED"]
