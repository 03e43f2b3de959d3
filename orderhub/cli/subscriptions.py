"""``orderhub subscriptions add|list|remove``: the live path's webhook subscribers, as data
(``orderhub_meta.subscriptions``; :mod:`orderhub.live.subscriptions`). ``add`` prints the
subscription's id and its ``whsec_`` signing secret (Standard Webhooks), once."""

from __future__ import annotations

import argparse
from typing import Any

import psycopg

from orderhub.progress import say
from orderhub.settings import Settings


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _cmd_subscriptions(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.bootstrap import prepare_warehouse
    from orderhub.live import subscriptions
    from orderhub.warehouse import warehouse_url

    url = warehouse_url(settings)
    prepare_warehouse(settings, url)
    with psycopg.connect(url) as conn:
        if args.action == "add":
            found, secret = subscriptions.add(
                conn,
                args.url,
                statuses=_split(args.statuses),
                exception_types=_split(args.exception_types),
                partner_id=args.partner,
                region=args.region,
            )
            say(f"subscription {found}: {args.url}")
            say(f"  signing secret (Standard Webhooks): {secret}")
        elif args.action == "list":
            for sub in subscriptions.listed(conn):
                filters = ", ".join(
                    f"{name}={value}"
                    for name, value in (
                        ("statuses", sub.statuses),
                        ("exception_types", sub.exception_types),
                        ("partner", sub.partner_id),
                        ("region", sub.region),
                    )
                    if value
                )
                say(f"{sub.subscription_id}\t{sub.url}\t{filters or 'everything'}")
        elif not subscriptions.remove(conn, args.id):
            say(f"no subscription {args.id}")
            return 1
    return 0


def register(subparsers: Any) -> None:
    """Add ``subscriptions`` to the ``orderhub`` parser."""
    parser = subparsers.add_parser(
        "subscriptions", help="add, list or remove webhook subscribers of the live path"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a subscriber URL")
    add.add_argument("url")
    add.add_argument("--statuses", help="canonical statuses, comma-separated (default any)")
    add.add_argument("--exception-types", help="exception types, comma-separated")
    add.add_argument("--partner", help="only orders with a shipment routed to this partner")
    add.add_argument("--region", help="only orders of this region")
    actions.add_parser("list", help="list the subscribers")
    remove = actions.add_parser("remove", help="remove a subscriber")
    remove.add_argument("id", type=int)
    parser.set_defaults(func=_cmd_subscriptions)
