"""The names an audit bundle is made of: its format strings, the log events it proves
batches and builds with, the columns of a crosswalk row, the key of an order's claim.

A bundle's ``batches`` are log entries of kind :data:`BATCH_EVENT` and its ``build`` an
entry of kind :data:`BUILD_EVENT`; a log whose bundles are to verify accepts those kinds
with at least :data:`BATCH_EVENT_FIELDS` and :data:`BUILD_EVENT_FIELDS` in their payloads
(``docs/audit-bundle.md`` describes every field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.errors import LedgerError

BUNDLE_FORMAT = "orderhub-audit-bundle/v2"
CONSISTENCY_FORMAT = "orderhub-consistency/v1"

#: The log event that records an extraction batch, and the payload fields a bundle reads:
#: the batch it names, the root of the batch's record tree and how many leaves it has.
BATCH_EVENT = "extraction_batch"
#: ``extracted_at`` is when the batch ran: the time the warehouse stamps on every record
#: it stored (ISO 8601 UTC with microseconds).
BATCH_EVENT_FIELDS: tuple[str, ...] = ("batch_id", "merkle_root", "records_stored", "extracted_at")

#: The log event that records a build of the canonical model, and the payload fields a
#: bundle reads: the crosswalk it mapped codes with (the root of the tree of its rows, and
#: how many rows), the SHA-256 of the derivation spec it applied (RFC 8785 bytes), and the
#: root and size of the tree of the orders it derived (each order's claim).
BUILD_EVENT = "dbt_build"
BUILD_EVENT_FIELDS: tuple[str, ...] = (
    "crosswalk_version",
    "crosswalk_rows",
    "derivation_spec",
    "claims_root",
    "claims_size",
)

#: A crosswalk row's columns; its key (the leaf order of the crosswalk's tree) comes first.
CROSSWALK_KEY: tuple[str, ...] = ("source_system", "source_field", "source_code")
CROSSWALK_COLUMNS: tuple[str, ...] = (
    *CROSSWALK_KEY,
    "canonical_status",
    "cbv_biz_step",
    "cbv_disposition",
    "lifecycle_rank",
    "is_terminal",
    "payment_state",
    "notes",
)
#: The key of an order's claim in the tree of a build's claims.
CLAIM_KEY: tuple[str, ...] = ("order_id",)


class BundleError(LedgerError):
    """A bundle does not verify; the message starts with the item that failed."""


@dataclass
class Report:
    """What a successful verification checked, one line per item."""

    checked: list[str] = field(default_factory=list)

    def ok(self, line: str) -> None:
        self.checked.append(line)
