"""``orderhub token``: tokens for the API.

``orderhub token issue --role partner --partner DHL --ttl 1h`` prints a JWT for a role,
signed with the home's secret (``orderhub.api_auth``): what a carrier's or 3PL's
integration, a shop's backend, an analyst or an auditor presents as
``Authorization: Bearer ...``. ``orderhub token tracking ORDER_ID ...`` prints the tracking
token a shop prints on an order's confirmation (``orderhub.tracking``; ``--link``: the
tracking page's link with the order and token filled in).
"""

from __future__ import annotations

import argparse
from typing import Any

from orderhub.settings import Settings


def _cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.api_auth import api_vars, mint_token, parse_ttl

    claims = dict(item.split("=", 1) for item in args.claim)
    named = {"customer": args.customer, "partner": args.partner}
    for role, value in named.items():
        if value:
            claims[api_vars()["row_claims"][role]] = value
    print(mint_token(settings, args.role, claims=claims, ttl=parse_ttl(args.ttl)))
    return 0


def tracking_tokens(settings: Settings, order_ids: list[str]) -> dict[str, str]:
    """The tracking token of each order, as the home's warehouse derives it."""
    import psycopg

    from orderhub import tracking
    from orderhub.warehouse import warehouse_url

    with psycopg.connect(warehouse_url(settings)) as conn:
        tracking.prepare(conn, settings)
        conn.commit()
        return {order_id: tracking.tracking_token(conn, order_id) for order_id in order_ids}


def site_url(settings: Settings) -> str:
    """Where customers reach the tracking site."""
    if settings.site_public_url:
        return settings.site_public_url.rstrip("/")
    return f"http://{settings.site_host}:{settings.site_port}"


def _cmd_tracking(args: argparse.Namespace, settings: Settings) -> int:
    tokens = tracking_tokens(settings, args.order_ids)
    for order_id, token in tokens.items():
        if args.link:
            print(f"{site_url(settings)}/track#order={order_id}&token={token}")
        elif len(tokens) == 1:
            print(token)
        else:
            print(f"{order_id} {token}")
    return 0


def _claim(text: str) -> str:
    if "=" not in text or not text.split("=", 1)[0]:
        raise argparse.ArgumentTypeError(f"not a claim NAME=VALUE: {text!r}")
    return text


def register(subparsers: Any) -> None:
    """Add ``token`` to the ``orderhub`` parser."""
    token = subparsers.add_parser("token", help="mint API tokens and order tracking tokens")
    commands = token.add_subparsers(dest="token_command", required=True)
    issue = commands.add_parser("issue", help="print a JWT for an API role (HS256, home secret)")
    issue.add_argument(
        "--role", required=True, help="anon, customer, partner, analyst, ops or auditor"
    )
    issue.add_argument("--customer", help="the customer id a customer token is for")
    issue.add_argument(
        "--partner", help="the partner id (DHL, NORDLOG, ...) a partner token is for"
    )
    issue.add_argument(
        "--claim", action="append", default=[], type=_claim, help="another claim NAME=VALUE"
    )
    issue.add_argument("--ttl", default="1h", help="lifetime: 3600, 30m, 1h, 7d (default 1h)")
    issue.set_defaults(func=_cmd_issue)
    tracking = commands.add_parser(
        "tracking", help="print the tracking token of orders (what the confirmation shows)"
    )
    tracking.add_argument("order_ids", nargs="+", metavar="ORDER_ID")
    tracking.add_argument(
        "--link", action="store_true", help="print the tracking page's link instead"
    )
    tracking.set_defaults(func=_cmd_tracking)
