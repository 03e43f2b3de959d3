"""Subscriptions as data: who is told of which changes.

A subscription (``orderhub_meta.subscriptions``) is a URL, a secret (``whsec_`` and base64,
as Standard Webhooks signs with) and a filter: canonical statuses, exception types, a
partner, a region - each empty for "any". :func:`queue_deliveries` queues, in the outbox's
transaction, one delivery per new outbox row and matching subscription; the dispatcher
(:mod:`.dispatch`) sends them. ``orderhub subscriptions add|list|remove`` and the API
function ``api.subscribe`` (``/rpc/subscribe``) register them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from orderhub.live.dispatch import queue_jobs

#: The filter a subscription ``s`` applies to an outbox row ``o``: a status change in its
#: statuses, an exception of its types (a subscription naming neither gets both), on a
#: shipment routed to its partner, in its region.
MATCHES = """
    (case o.kind
        when 'status_changed' then
            coalesce(o.canonical_status = any(s.statuses), s.exception_types is null)
        else coalesce(o.exception_type = any(s.exception_types), s.statuses is null)
    end)
    and (s.partner_id is null or s.partner_id = any(o.partner_ids))
    and (s.region is null or s.region = o.region)
"""


@dataclass(frozen=True)
class Subscription:
    subscription_id: int
    url: str
    statuses: list[str] | None
    exception_types: list[str] | None
    partner_id: str | None
    region: str | None


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def add(
    conn: psycopg.Connection[Any],
    url: str,
    *,
    statuses: Sequence[str] | None = None,
    exception_types: Sequence[str] | None = None,
    partner_id: str | None = None,
    region: str | None = None,
    secret: str | None = None,
) -> tuple[int, str]:
    """Register a subscription; its id and signing secret."""
    secret = secret or new_secret()
    row = conn.execute(
        "insert into orderhub_meta.subscriptions (url, secret, statuses, exception_types,"
        " partner_id, region, owner_role) values (%s, %s, %s, %s, %s, %s, current_user)"
        " returning subscription_id",
        (
            url,
            secret,
            list(statuses) if statuses else None,
            list(exception_types) if exception_types else None,
            partner_id,
            region,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0]), secret


def listed(conn: psycopg.Connection[Any]) -> list[Subscription]:
    """Every subscription, oldest first."""
    return [
        Subscription(*row)
        for row in conn.execute(
            "select subscription_id, url, statuses, exception_types, partner_id, region"
            " from orderhub_meta.subscriptions order by subscription_id"
        )
    ]


def remove(conn: psycopg.Connection[Any], subscription_id: int) -> bool:
    """Remove a subscription (and its pending deliveries); whether it existed."""
    cur = conn.execute(
        "delete from orderhub_meta.subscriptions where subscription_id = %s", (subscription_id,)
    )
    return cur.rowcount > 0


def queue_deliveries(conn: psycopg.Connection[Any], first: int, last: int) -> None:
    """Queue a delivery of outbox rows ``first``..``last`` to each matching subscription,
    and the jobs that send them, in the open transaction (:func:`.dispatch.queue_jobs`)."""
    queued = conn.execute(
        "insert into orderhub_meta.deliveries (change_id, subscription_id, order_id)"
        " select o.change_id, s.subscription_id, o.order_id"
        " from orderhub_meta.outbox as o cross join orderhub_meta.subscriptions as s"
        f" where o.change_id between %s and %s and {MATCHES}"
        " returning change_id, subscription_id, order_id",
        (first, last),
    ).fetchall()
    queue_jobs(conn, queued)
