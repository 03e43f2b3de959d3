"""The sandbox's systems push their changes, as the real ones do, to a receiver URL.

:class:`Pusher` turns a changed record into what its system sends - the TMS an EasyPost
``Event`` (``tracker.updated``) signed with ``X-Hmac-Signature: hmac-sha256-hex=...``; the WMS
an Odoo automation-rule webhook (the picking's fields with ``_model``, ``_id``, ``_action``)
signed in ``X-Odoo-Signature: sha256=...``; the CRM a Salesforce ``FulfillmentOrder`` change
event and the ERP an SAP S/4HANA ``SalesOrder.Changed`` business event, both CloudEvents in
binary mode with HTTP Basic credentials, as SAP Event Mesh webhooks use - and posts it to
``<url>/webhooks/<system>`` from a few sender threads. A sender retries a refused delivery
(429, 5xx, no connection) with growing pauses, as the vendors do; the same event keeps its
id, so a redelivery is recognised. The secrets are the home's
(``orderhub.sources.WEBHOOK_SECRETS``). sandbox/README.md cites each vendor's documents.

A sales order deleted in the ERP (``DELETE .../A_SalesOrder('<key>')``) is pushed as SAP's
``SalesOrder.Deleted`` business event (:func:`deletion_message`), whose data is the order's
key and header fields, not the entity; the other systems push nothing for a deletion (their
vendors document no deletion event).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from orderhub.secrets import get_secret
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS, WEBHOOK_SECRETS
from sandbox.clock import instant_seconds, iso
from sandbox.store import sortable

CRM_TYPE = "com.salesforce.cdc.FulfillmentOrderChangeEvent"
ERP_TYPE = "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1"
ERP_DELETED_TYPE = "sap.s4.beh.salesorder.v1.SalesOrder.Deleted.v1"
#: The header fields SAP's sales order business events carry as their data, beside the key.
ERP_EVENT_FIELDS = (
    "SalesOrder",
    "SalesOrderType",
    "SalesOrganization",
    "DistributionChannel",
    "OrganizationDivision",
    "SoldToParty",
)
#: Sender threads, and how often one delivery is tried before it is given up.
SENDERS = 32
ATTEMPTS = 8


def push_target(settings: Settings) -> str:
    """Where the sandbox pushes: ``ORDERHUB_SANDBOX_PUSH_URL``, else the serve port."""
    return settings.sandbox_push_url or f"http://{settings.serve_host}:{settings.serve_port}"


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _basic(system: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{system}-webhook:{secret}".encode()).decode()


def message(system: str, record: Mapping[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers ``system`` pushes for a change of ``record``."""
    event_id = secrets.token_hex(12)
    headers = {"content-type": "application/json"}
    if system == "tms":
        event = {
            "object": "Event",
            "id": f"evt_{event_id}",
            "mode": "test",
            "description": "tracker.updated",
            "created_at": record.get("updated_at"),
            "result": dict(record),
        }
        body = json.dumps(event).encode()
        headers["x-hmac-signature"] = f"hmac-sha256-hex={_hmac(secret, body)}"
        return body, headers
    if system == "wms":
        body = json.dumps(
            {"_action": "write", "_model": "stock.picking", "_id": record["id"], **record}
        ).encode()
        headers["x-odoo-signature"] = f"sha256={_hmac(secret, body)}"
        return body, headers
    if system == "crm":
        header = {"entityName": "FulfillmentOrder", "changeType": "UPDATE"}
        data: dict[str, Any] = {"ChangeEventHeader": {**header, "recordIds": [record["Id"]]}}
        body = json.dumps({**data, **record}).encode()
        kind, source, time_field = CRM_TYPE, "/sandbox/salesforce", "LastModifiedDate"
    else:
        body = json.dumps(dict(record)).encode()
        kind, source, time_field = ERP_TYPE, "/default/sap.s4/sandbox", "LastChangeDateTime"
    headers.update(
        {
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-type": kind,
            "ce-source": source,
            # RFC 3339, as CloudEvents' time attribute is (SAP's /Date()/ converted)
            "ce-time": sortable(record.get(time_field)) or str(record.get(time_field)),
            "authorization": _basic(system, secret),
        }
    )
    return body, headers


def deletion_message(
    system: str, record: Mapping[str, Any], secret: str
) -> tuple[bytes, dict[str, str]] | None:
    """What ``system`` pushes when ``record`` (its last version) is deleted: the ERP a
    ``SalesOrder.Deleted`` CloudEvent one second after the order's last change; None for
    the systems whose vendors push nothing on a deletion."""
    if system != "erp":
        return None
    data = {name: record[name] for name in ERP_EVENT_FIELDS if record.get(name) is not None}
    at = iso(int(instant_seconds(str(record["LastChangeDateTime"]))) + 1)
    headers = {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": secrets.token_hex(12),
        "ce-type": ERP_DELETED_TYPE,
        "ce-source": "/default/sap.s4/sandbox",
        "ce-time": at,
        "authorization": _basic(system, secret),
    }
    return json.dumps(data).encode(), headers


class Pusher:
    """Pushes each change to ``url`` from :data:`SENDERS` threads (``start``/``stop``)."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.url = url.rstrip("/")
        self.secrets = {s: get_secret(settings, WEBHOOK_SECRETS[s]) for s in API_SYSTEMS}
        self.queue: queue.Queue[tuple[str, bytes, dict[str, str]] | None] = queue.Queue()
        self.sent = 0
        self.given_up = 0
        self._threads: list[threading.Thread] = []

    def push(self, system: str, record: Mapping[str, Any]) -> None:
        """Queue the push of ``record``'s change (sent in the background)."""
        body, headers = message(system, record, self.secrets[system])
        self.queue.put((system, body, headers))

    def push_deletion(self, system: str, record: Mapping[str, Any]) -> None:
        """Queue what ``system`` pushes when ``record`` is deleted, if it pushes anything."""
        deleted = deletion_message(system, record, self.secrets[system])
        if deleted is not None:
            self.queue.put((system, *deleted))

    def start(self) -> Pusher:
        for n in range(SENDERS):
            thread = threading.Thread(target=self._send, name=f"sandbox-push-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for _ in self._threads:
            self.queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def _send(self) -> None:
        with httpx.Client(timeout=10) as client:
            while (job := self.queue.get()) is not None:
                system, body, headers = job
                self._deliver(client, f"{self.url}/webhooks/{system}", body, headers)

    def _deliver(
        self, client: httpx.Client, url: str, body: bytes, headers: dict[str, str]
    ) -> None:
        for attempt in range(ATTEMPTS):
            try:
                answer = client.post(url, content=body, headers=headers)
                if answer.status_code < 300 or answer.status_code in (400, 401, 404):
                    self.sent += 1
                    return
                pause = float(answer.headers.get("retry-after", 0.05 * 2**attempt))
            except httpx.HTTPError:
                pause = 0.05 * 2**attempt
            time.sleep(min(pause, 5.0))
        self.given_up += 1
