"""Audit bundles: what an auditor receives, how it is assembled, how it is checked offline.

A bundle (``format: orderhub-audit-bundle/v1``, documented in the README under
"Audit bundle format") is one JSON document holding everything needed to check where a
set of derived rows came from, with no access to the database, along the chain
record → batch root → log root → checkpoint → anchors:

- ``log``: the C2SP signed checkpoint the proofs lead to;
- ``anchors``: receipts of that checkpoint (witness cosignature, EVM, Fabric);
- ``batches``: each ``extraction_batch`` log entry (its exact RFC 8785 bytes) with
  its RFC 9162 inclusion proof in the checkpoint's tree;
- ``records``: each source record (its JSON), its content hash and its inclusion
  proof in its batch's Merkle root (:mod:`ledger.batches`);
- ``events``: the derived rows, each naming its record by position and carrying
  the lineage columns that must match it.

One place defines it: :mod:`ledger.bundle.format` (the names, the batch event, the lineage
columns), :mod:`ledger.bundle.build` (:class:`BundleBuilder`, the pure assembly of the
document from what the caller read) and :mod:`ledger.bundle.verify` (:func:`verify_bundle`,
which raises :class:`BundleError` naming the first item that fails). A consistency document
(``format: orderhub-consistency/v1``: two signed checkpoints and the proof between them)
is made by :func:`consistency_document` and checked by :func:`verify_consistency_document`.
The ledger knows no source system: tables, systems and rows are data here, compared,
never interpreted.
"""

from ledger.bundle.build import BundleBuilder, consistency_document
from ledger.bundle.format import (
    BATCH_EVENT,
    BATCH_EVENT_FIELDS,
    BUNDLE_FORMAT,
    CONSISTENCY_FORMAT,
    LINEAGE,
    BundleError,
    Report,
)
from ledger.bundle.verify import verify_bundle, verify_consistency_document

__all__ = [
    "BATCH_EVENT",
    "BATCH_EVENT_FIELDS",
    "BUNDLE_FORMAT",
    "CONSISTENCY_FORMAT",
    "LINEAGE",
    "BundleBuilder",
    "BundleError",
    "Report",
    "consistency_document",
    "verify_bundle",
    "verify_consistency_document",
]
