"""``orderhub cases list|show|ack|resolve``: the cases a team works (:mod:`orderhub.cases`)
from the command line. ``ack`` and ``resolve`` go through the same validation as the API's
functions (``cases.act``); the actor is ``--as`` (default: the login name). Output is plain
lines on stdout (tab-separated for ``list``), for people and scripts alike."""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

import psycopg

from orderhub.settings import Settings


def _line(case: dict[str, Any]) -> str:
    return (
        f"{case['case_id']}\t{case['state']}\t{case['severity']}\t{case['team']}\t"
        f"{case['kind']}\t{case['subject']}\topened {case['opened_at']:%Y-%m-%d %H:%M:%S}"
        f"\tlevel {case['escalation_level']}"
    )


def _show(conn: psycopg.Connection[Any], case_id: int) -> int:
    from orderhub import cases

    found = cases.show_case(conn, case_id)
    if found is None:
        print(f"no case {case_id}")
        return 1
    print(_line(found))
    print(f"  detail: {json.dumps(found['detail'], default=str, sort_keys=True)}")
    for action in found["actions"]:
        note = f": {action['note']}" if action["note"] else ""
        print(
            f"  {action['acted_at']:%Y-%m-%d %H:%M:%S} {action['actor']} {action['action']}{note}"
        )
    return 0


def _cmd_cases(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.bootstrap import prepare_warehouse
    from orderhub import cases
    from orderhub.warehouse import warehouse_url

    url = warehouse_url(settings)
    prepare_warehouse(settings, url)
    with psycopg.connect(url, autocommit=True) as conn:
        if args.action == "list":
            states = ("resolved", "dismissed") if args.closed else cases.OPEN_STATES
            for case in cases.list_cases(conn, kind=args.kind, states=states, limit=args.limit):
                print(_line(case))
            return 0
        if args.action == "show":
            return _show(conn, args.id)
        action = {"ack": "acknowledge", "resolve": "resolve"}[args.action]
        try:
            done = cases.act(conn, args.id, action, args.actor, note=args.note)
        except psycopg.Error as error:
            diag = error.diag
            print(f"case {args.id}: {diag.message_primary or error}")
            if diag.message_hint:
                print(f"  hint: {diag.message_hint}")
            return 1
        print(f"case {args.id}: {done['state']}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``cases`` to the ``orderhub`` parser."""
    parser = subparsers.add_parser("cases", help="list, show, acknowledge or resolve cases")
    actions = parser.add_subparsers(dest="action", required=True)
    listed = actions.add_parser("list", help="the open cases, oldest first")
    listed.add_argument("--kind", help="only cases of this kind")
    listed.add_argument("--closed", action="store_true", help="resolved and dismissed ones")
    listed.add_argument("--limit", type=int, default=None)
    show = actions.add_parser("show", help="one case and everything done on it")
    show.add_argument("id", type=int)
    for name, help_text in (("ack", "acknowledge a case"), ("resolve", "resolve a case")):
        act = actions.add_parser(name, help=help_text)
        act.add_argument("id", type=int)
        act.add_argument("--note", default=None)
        act.add_argument("--as", dest="actor", default=getpass.getuser(), help="who acts")
    parser.set_defaults(func=_cmd_cases)
