"""The names an audit bundle is made of: its format strings, the log event it proves
batches with, the lineage columns a derived row must share with its record.

A bundle's ``batches`` are log entries of kind :data:`BATCH_EVENT`; a log whose batches are
to be audited accepts that kind with at least :data:`BATCH_EVENT_FIELDS` in its payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.errors import LedgerError

BUNDLE_FORMAT = "orderhub-audit-bundle/v1"
CONSISTENCY_FORMAT = "orderhub-consistency/v1"

#: The log event that records an extraction batch, and the payload fields a bundle reads:
#: the batch it names, the root of the batch's record tree and how many leaves it has.
BATCH_EVENT = "extraction_batch"
BATCH_EVENT_FIELDS: tuple[str, ...] = ("batch_id", "merkle_root", "records_stored")

#: Lineage columns of a derived row and the record field each must equal.
LINEAGE: dict[str, str] = {
    "source_system": "system",
    "source_record_key": "record_key",
    "source_content_hash": "content_hash",
    "source_batch_id": "batch_id",
}


class BundleError(LedgerError):
    """A bundle does not verify; the message starts with the item that failed."""


@dataclass
class Report:
    """What a successful verification checked, one line per item."""

    checked: list[str] = field(default_factory=list)

    def ok(self, line: str) -> None:
        self.checked.append(line)
