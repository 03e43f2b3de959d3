"""``orderhub audit``: the auditor's commands.

- ``orderhub audit trace ORDER_ID --out bundle.json``: the audit bundle of one order;
- ``orderhub audit verify bundle.json --key PUBLIC_KEY [--witness-key KEY]``: checks a
  bundle (or a consistency document) offline, with no database - the records, their
  batches, the build, and the order's events and status re-derived from the records;
  exit 1 naming the first failure;
- ``orderhub audit check``: reports every raw or canonical row changed since it was
  logged (exit 1 when any is found);
- ``orderhub audit consistency OLD NEW``: proves a newer checkpoint extends an older one
  (each given as a stored tree size, a checkpoint note file or a bundle file);
- ``orderhub audit repair-trees [--all]``: stores the batch trees ``trace`` reads for the
  batches logged without one (checked against the logged root first); exit 1 when a batch's
  rows no longer give its logged root.

``trace``, ``check`` and ``consistency`` read the warehouse and default to the home's
log verifier key (``<home>/secrets/ledger-signing-key.pem.pub``); ``verify`` needs the
key it is told to trust and nothing else. The work is done by :mod:`orderhub.audit`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from orderhub.progress import say
from orderhub.settings import SIGNING_KEY_FILE, Settings


def _home_key(settings: Settings) -> str:
    from ledger.keys import public_key_path

    path = public_key_path(settings.secrets_dir / SIGNING_KEY_FILE)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: give the log's verifier key with --key "
            "(the flow writes it beside the signing key)"
        )
    return path.read_text(encoding="utf-8").strip()


def load_key(value: str) -> str:
    """A verifier key given as its text or as a file holding it."""
    path = Path(value)
    if "+" not in value or path.exists():
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read the key file {value}: {exc}") from exc
    return value.strip()


def _key(args: argparse.Namespace, settings: Settings) -> str:
    return load_key(args.key) if args.key else _home_key(settings)


def _connect(settings: Settings) -> Any:
    from ledger.store import ensure_schema
    from orderhub.warehouse import connect, warehouse_url

    conn = connect(warehouse_url(settings))
    ensure_schema(conn)
    return conn


def _write(document: dict[str, Any], out: str) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")


def _cmd_trace(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.audit import trace_order

    started = time.perf_counter()
    with _connect(settings) as conn:
        bundle = trace_order(conn, args.order_id, progress=say)
    _write(bundle, args.out)
    where = "stdout" if args.out == "-" else args.out
    say(
        f"audit bundle of order {args.order_id}: {len(bundle['events'])} events, "
        f"{len(bundle['records'])} records, {len(bundle['batches'])} batches, "
        f"{len(bundle['anchors'])} anchor receipts -> {where} "
        f"({(time.perf_counter() - started) * 1000:.0f} ms)"
    )
    return 0


def _cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.anchors import AnchorError, AnchorReceipt
    from ledger.bundle import (
        CONSISTENCY_FORMAT,
        BundleError,
        verify_bundle,
        verify_consistency_document,
    )

    text = Path(args.bundle).read_text(encoding="utf-8")
    log_key = load_key(args.key)
    witness_keys = [load_key(key) for key in args.witness_key or []]
    try:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise BundleError(f"{args.bundle}: not JSON ({exc})") from exc
        if isinstance(document, dict) and document.get("format") == CONSISTENCY_FORMAT:
            report = verify_consistency_document(document, log_key)
        else:
            report = verify_bundle(document, log_key, witness_keys=witness_keys)
        if args.evm_rpc:
            from ledger.anchors.evm.anchor import verify_on_chain

            for i, data in enumerate(document.get("anchors") or []):
                receipt = AnchorReceipt.from_json(data)
                if receipt.anchor == "evm":
                    try:
                        report.ok(f"anchor #{i} on chain: {verify_on_chain(receipt, args.evm_rpc)}")
                    except AnchorError as exc:
                        raise BundleError(f"anchor #{i} (evm) on chain: {exc}") from exc
    except BundleError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for line in report.checked:
        print(f"ok  {line}")
    print(f"VERIFIED: {args.bundle} ({len(report.checked)} checks, offline)")
    return 0


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.audit import check_warehouse

    key = _key(args, settings)
    with _connect(settings) as conn:
        report = check_warehouse(conn, key, progress=say)
    counts = ", ".join(f"{n:,} {what}" for what, n in report.counts.items())
    print(f"audit check: looked at {counts}")
    for note in report.notes:
        print(f"note: {note}")
    for finding in report.findings:
        print(f"CHANGED {finding}")
    if report.clean:
        print("OK: nothing changed since it was logged")
        return 0
    print(f"{len(report.findings)} change(s) since logged", file=sys.stderr)
    return 1


def _cmd_consistency(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.audit import consistency, read_checkpoint_argument

    key = _key(args, settings)
    with _connect(settings) as conn:
        old = read_checkpoint_argument(conn, args.old)
        new = read_checkpoint_argument(conn, args.new)
        document = consistency(conn, old, new, key)
    if args.out:
        _write(document, args.out)
    old_size, new_size = (note.split("\n")[1] for note in (old, new))
    print(
        f"checkpoint {new_size} extends checkpoint {old_size}: "
        f"{len(document['proof'])}-hash consistency proof verifies"
        + (f" (written to {args.out})" if args.out else "")
    )
    return 0


def _cmd_repair_trees(args: argparse.Namespace, settings: Settings) -> int:
    from orderhub.audit import repair_trees

    with _connect(settings) as conn:
        report = repair_trees(conn, rebuild_all=args.all, progress=say)
        conn.commit()
    for refused in report.refused:
        print(f"NOT REPAIRED {refused}")
    print(
        f"batch trees: {len(report.stored)} stored, {report.intact} already right"
        + (f", {len(report.refused)} refused" if report.refused else "")
    )
    return 1 if report.refused else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``orderhub audit ...`` to the CLI."""
    audit = subparsers.add_parser(
        "audit", help="prove where an order fact came from and that nothing changed since"
    )
    sub = audit.add_subparsers(dest="audit_command", required=True)

    trace = sub.add_parser("trace", help="write the audit bundle of an order")
    trace.add_argument("order_id", metavar="ORDER_ID")
    trace.add_argument("--out", default="-", help="bundle file (default: stdout)")
    trace.set_defaults(func=_cmd_trace)

    verify = sub.add_parser("verify", help="check a bundle offline; exit 1 naming the failure")
    verify.add_argument("bundle", metavar="BUNDLE", help="audit bundle or consistency document")
    verify.add_argument(
        "--key", required=True, help="the log's verifier key (text or file) to trust"
    )
    verify.add_argument(
        "--witness-key",
        action="append",
        help="require a cosignature by this witness key (text or file; repeatable); a key "
        "named inside a receipt is never trusted",
    )
    verify.add_argument(
        "--evm-rpc", help="also ask this EVM node that anchoring transactions succeeded (online)"
    )
    verify.set_defaults(func=_cmd_verify)

    check = sub.add_parser("check", help="report every row changed since it was logged")
    check.add_argument("--key", help="the log's verifier key (default: the home's)")
    check.set_defaults(func=_cmd_check)

    cons = sub.add_parser("consistency", help="prove checkpoint NEW extends checkpoint OLD")
    cons.add_argument("old", metavar="OLD", help="tree size, checkpoint note file or bundle")
    cons.add_argument("new", metavar="NEW", help="tree size, checkpoint note file or bundle")
    cons.add_argument("--key", help="the log's verifier key (default: the home's)")
    cons.add_argument("--out", help="write the consistency document (verify checks it offline)")
    cons.set_defaults(func=_cmd_consistency)

    repair = sub.add_parser(
        "repair-trees", help="store the batch trees traces read, checked against the log"
    )
    repair.add_argument(
        "--all", action="store_true", help="rebuild and compare every batch's tree, not only "
        "the missing ones and those whose root is not the logged one",
    )  # fmt: skip
    repair.set_defaults(func=_cmd_repair_trees)
