"""Anchor receipts kept by the log (ledger.receipts): stored, logged, and per checkpoint."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from ledger.anchors.base import AnchorError, AnchorReceipt
from ledger.keys import Signer
from ledger.kinds import EventKinds
from ledger.log import ProvenanceLog
from ledger.receipts import (
    ANCHOR_EVENT,
    ANCHOR_EVENT_FIELDS,
    anchor_latest,
    receipts_for,
    record_receipt,
)

ORIGIN = "orderhub.test/receipts"
SIGNER = Signer.generate(ORIGIN)
KINDS = EventKinds({"publish": (), ANCHOR_EVENT: ANCHOR_EVENT_FIELDS})


class FakeChain:
    """An anchor that records what it was given (and can be told to fail)."""

    kind = "evm"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[str] = []

    def anchor(self, note: str) -> AnchorReceipt:
        if self.fail:
            raise ConnectionError("node unreachable")
        self.seen.append(note)
        origin, size, _root = note.split("\n")[:3]
        return AnchorReceipt(
            anchor="evm",
            origin=origin,
            tree_size=int(size),
            root_hash=ROOTS[int(size)],
            chain="evm:31337",
            transaction=f"0x{len(self.seen):064x}",
            block=len(self.seen),
            anchored_at="2026-11-25T00:00:00Z",
        )


ROOTS: dict[int, str] = {}


@pytest.fixture
def log(db_url: str) -> Iterator[ProvenanceLog]:
    with ProvenanceLog(db_url, ORIGIN, SIGNER, kinds=KINDS) as opened:
        yield opened


def test_a_receipt_is_stored_and_logged(log: ProvenanceLog) -> None:
    log.append_events([("publish", {"n": n}) for n in range(3)])
    signed = log.checkpoint()
    ROOTS[signed.size] = signed.root_hash.hex()
    receipt = FakeChain().anchor(signed.note)
    index = record_receipt(log, receipt)
    assert index == 3
    event, _ = log.leaf(index)
    assert event["kind"] == "anchor" and event["payload"] == receipt.to_json()
    assert sorted(receipt.to_json()) == sorted(ANCHOR_EVENT_FIELDS)
    assert receipts_for(log.conn, signed.size, signed.root_hash) == [(receipt, 3)]
    assert receipts_for(log.conn, signed.size, bytes(32)) == []
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):  # noqa: SIM117
        with log.conn.transaction():
            log.conn.execute("delete from ledger.anchor_receipts")


def test_anchor_latest_records_each_and_reports_failures(log: ProvenanceLog) -> None:
    with pytest.raises(AnchorError, match="no checkpoint"):
        anchor_latest(log, [FakeChain()])
    log.append_event("publish", {"n": 1})
    signed = log.checkpoint()
    ROOTS[signed.size] = signed.root_hash.hex()
    good, bad = FakeChain(), FakeChain(fail=True)
    done, failed = anchor_latest(log, [bad, good])
    assert good.seen == [signed.note]
    assert [(r.tree_size, i) for r, i in done] == [(1, 1)]
    assert failed == {"evm": "ConnectionError: node unreachable"}
    assert log.tree_size() == 2, "the receipt is an entry after the checkpoint it anchors"


def test_a_receipt_for_a_checkpoint_names_it_and_its_time_to_the_second() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from ledger.checkpoint import Checkpoint

    checkpoint = Checkpoint(ORIGIN, 7, bytes(range(32)))
    at = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=1)))
    receipt = AnchorReceipt.for_checkpoint(
        "evm", checkpoint, chain="evm:31337", anchored_at=at, details={"n": 1}, block=9
    )
    assert (
        receipt.canonical()
        == AnchorReceipt(
            anchor="evm",
            origin=ORIGIN,
            tree_size=7,
            root_hash=bytes(range(32)).hex(),
            chain="evm:31337",
            transaction=None,
            block=9,
            anchored_at=datetime.fromtimestamp(int(at.timestamp()), UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            details={"n": 1},
        ).canonical()
    )
    assert receipt.anchored_at == "2026-11-25T00:02:03Z"
    receipt.check_names(checkpoint)
