"""What every anchor shares: the receipt, the interface, the error.

An anchor records a signed checkpoint somewhere the log operator does not
control and hands back an :class:`AnchorReceipt` saying where: which chain,
which transaction, which block. Every anchor has one method,
``anchor(note) -> AnchorReceipt``, where ``note`` is the checkpoint's C2SP
signed note; each module also has ``verify_receipt(receipt, checkpoint)``,
which checks offline what a receipt can prove without the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint
from ledger.errors import LedgerError


class AnchorError(LedgerError):
    """An anchor failed, or a receipt does not hold."""


@dataclass(frozen=True)
class AnchorReceipt:
    """Where a checkpoint ``(origin, tree_size, root_hash)`` was anchored.

    ``anchor`` is the kind (``evm``, ``fabric``, ``witness``); ``chain`` names the
    ledger (``evm:<chain id>``, ``fabric:<channel>``, ``witness:<name>``);
    ``transaction`` and ``block`` locate the record on it (a witness has neither);
    ``details`` holds what the kind's ``verify_receipt`` needs.
    """

    anchor: str
    origin: str
    tree_size: int
    root_hash: str
    chain: str
    transaction: str | None
    block: int | None
    anchored_at: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The receipt as a JSON object (the form stored, logged and bundled)."""
        return {
            "anchor": self.anchor,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "chain": self.chain,
            "transaction": self.transaction,
            "block": self.block,
            "anchored_at": self.anchored_at,
            "details": dict(self.details),
        }

    def canonical(self) -> bytes:
        """RFC 8785 bytes of :meth:`to_json`."""
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnchorReceipt:
        try:
            return cls(
                anchor=str(data["anchor"]),
                origin=str(data["origin"]),
                tree_size=int(data["tree_size"]),
                root_hash=str(data["root_hash"]),
                chain=str(data["chain"]),
                transaction=None if data.get("transaction") is None else str(data["transaction"]),
                block=None if data.get("block") is None else int(data["block"]),
                anchored_at=str(data["anchored_at"]),
                details=dict(data.get("details") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AnchorError(f"anchor receipt is malformed: {exc!r}") from exc

    @classmethod
    def for_checkpoint(
        cls,
        anchor: str,
        checkpoint: Checkpoint,
        *,
        chain: str,
        anchored_at: datetime,
        details: dict[str, Any],
        transaction: str | None = None,
        block: int | None = None,
    ) -> AnchorReceipt:
        """The receipt naming ``checkpoint``, anchored at ``anchored_at`` (UTC, to the second)."""
        return cls(
            anchor=anchor,
            origin=checkpoint.origin,
            tree_size=checkpoint.size,
            root_hash=checkpoint.root_hash.hex(),
            chain=chain,
            transaction=transaction,
            block=block,
            anchored_at=anchored_at.astimezone(UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
            details=details,
        )

    def check_names(self, checkpoint: Checkpoint) -> None:
        """Refuse a receipt for another checkpoint than ``checkpoint``."""
        if (self.origin, self.tree_size, self.root_hash) != (
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root_hash.hex(),
        ):
            raise AnchorError(
                f"{self.anchor} receipt is for {self.origin} size {self.tree_size} root "
                f"{self.root_hash}, not for the checkpoint {checkpoint.origin} size "
                f"{checkpoint.size} root {checkpoint.root_hash.hex()}"
            )


class Anchor(Protocol):
    """Records a signed checkpoint outside the operator's control."""

    #: The kind of anchor, as in :attr:`AnchorReceipt.anchor`.
    kind: str

    def anchor(self, note: str) -> AnchorReceipt:
        """Anchor the checkpoint whose signed note is ``note``; return the receipt."""
        ...
