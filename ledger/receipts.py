"""Anchor receipts kept by the log: in ``ledger.anchor_receipts`` and as ``anchor`` entries.

:func:`record_receipt` appends the receipt to the log as an ``anchor`` event and
stores it with that entry's index, in one transaction, so a receipt is itself
covered by the next checkpoint. :func:`receipts_for` returns the receipts of one
checkpoint (what an audit bundle carries). :func:`anchor_latest` anchors the latest
checkpoint with each configured anchor and records what each returned.

A log that keeps receipts accepts :data:`ANCHOR_EVENT` events carrying
:data:`ANCHOR_EVENT_FIELDS` (the receipt's own fields) among its kinds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import psycopg

from ledger.anchors.base import Anchor, AnchorError, AnchorReceipt
from ledger.errors import LedgerError
from ledger.log import ProvenanceLog
from ledger.sessions import Read, alone

#: The kind of the log event that records an anchor receipt, and the payload it carries.
ANCHOR_EVENT = "anchor"
ANCHOR_EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AnchorReceipt))


def record_receipt(log: ProvenanceLog, receipt: AnchorReceipt) -> int:
    """Log ``receipt`` as an ``anchor`` event and store it; return the entry's index."""
    with log.conn.transaction():
        index = log.append_event(ANCHOR_EVENT, receipt.to_json())
        log.conn.execute(
            "insert into ledger.anchor_receipts (anchor, tree_size, root_hash, receipt, log_index)"
            " values (%s, %s, %s, %s, %s)",
            (
                receipt.anchor,
                receipt.tree_size,
                bytes.fromhex(receipt.root_hash),
                receipt.canonical(),
                index,
            ),
        )
    return index


def _receipts(rows: list[Any]) -> list[tuple[AnchorReceipt, int | None]]:
    return [
        (AnchorReceipt.from_json(json.loads(bytes(body))), None if idx is None else int(idx))
        for body, idx in rows
    ]


def receipts_read(tree_size: int, root_hash: bytes) -> Read[list[tuple[AnchorReceipt, int | None]]]:
    """:func:`receipts_for` as a :class:`~ledger.sessions.Read`, to send with others."""
    return Read(
        "select receipt, log_index from ledger.anchor_receipts"
        " where tree_size = %s and root_hash = %s order by id",
        (tree_size, root_hash),
        _receipts,
    )


def receipts_for(
    conn: psycopg.Connection[Any], tree_size: int, root_hash: bytes
) -> list[tuple[AnchorReceipt, int | None]]:
    """The receipts stored for the checkpoint ``(tree_size, root_hash)``, oldest first,
    each with the index of the log entry that recorded it."""
    return alone(conn, receipts_read(tree_size, root_hash))


def anchor_latest(
    log: ProvenanceLog, anchors: Sequence[Anchor]
) -> tuple[list[tuple[AnchorReceipt, int]], dict[str, str]]:
    """Anchor the log's latest checkpoint with every anchor; record each receipt.

    One anchor failing does not stop the others: returns the recorded
    ``(receipt, log index)`` pairs and, per failed anchor kind, why it failed.
    """
    latest = log.latest_checkpoint()
    if latest is None:
        raise AnchorError("the log has no checkpoint to anchor yet")
    done: list[tuple[AnchorReceipt, int]] = []
    failed: dict[str, str] = {}
    for anchor in anchors:
        try:
            receipt = anchor.anchor(latest.note)
        except LedgerError as exc:
            failed[anchor.kind] = str(exc)
            continue
        except Exception as exc:  # a node or gateway failing in its own library's terms
            failed[anchor.kind] = f"{type(exc).__name__}: {exc}"
            continue
        done.append((receipt, record_receipt(log, receipt)))
    return done, failed
