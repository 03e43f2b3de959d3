"""``orderhub track ORDER_ID``: what a customer's tracking page shows, on the terminal.

Asks the running API (``orderhub api``, at ``ORDERHUB_API_PUBLIC_URL`` or the API's host
and port) through :mod:`orderhub.client`, as anyone holding the order's tracking token
would; without ``--token`` the token is derived from the home's warehouse, as the shop
derives it for the confirmation.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from orderhub.settings import Settings


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _cmd_track(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.api import public_url
    from orderhub.cli.token import tracking_tokens
    from orderhub.client import OrderhubClient

    token = args.token or tracking_tokens(settings, [args.order_id])[args.order_id]
    with OrderhubClient(args.url or public_url(settings)) as hub:
        found = hub.track(args.order_id, token)
    if found is None:
        raise LookupError(f"no order {args.order_id} with this tracking token")
    if args.json:
        print(json.dumps(asdict(found), default=str, indent=2))
        return 0
    print(f"order {found.order_id}: {found.status} since {_when(found.status_since)}")
    expected = _when(found.estimated_delivery_at)
    if found.estimate_source:
        expected += f" ({found.estimate_source})"
    print(f"  promised {_when(found.promised_delivery_at)}, expected {expected}", end="")
    print(f", delivered {_when(found.delivered_at)}" if found.delivered_at else "")
    for warning in found.warnings:
        print(f"  ! {warning['message']['en']}")
    for parcel in found.parcels:
        carrier = f"{parcel.carrier} {parcel.tracking_code or ''}" if parcel.carrier else "-"
        print(f"  parcel {parcel.shipment_id} ({parcel.direction}): {parcel.status}, {carrier}")
    for step in found.steps:
        where = ", ".join(p for p in (step.place or step.node, step.city, step.country) if p)
        print(f"  {_when(step.at)}  {step.status:<19} {where}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``track`` to the ``orderhub`` parser."""
    track = subparsers.add_parser("track", help="look an order up as its tracking page does")
    track.add_argument("order_id", metavar="ORDER_ID")
    track.add_argument("--token", help="the order's tracking token (default: from the warehouse)")
    track.add_argument("--url", help="the API's URL (default ORDERHUB_API_PUBLIC_URL)")
    track.add_argument("--json", action="store_true", help="print the answer as JSON")
    track.set_defaults(func=_cmd_track)
