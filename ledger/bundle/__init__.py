"""Audit bundles: what an auditor receives, how it is assembled, how it is checked offline.

A bundle (``format: orderhub-audit-bundle/v2``, specified field by field and byte by byte
in ``docs/audit-bundle.md``) is one JSON document that proves an order's status with no
access to the database, along two chains that meet in one signed checkpoint:

- record → batch root → log root → checkpoint → anchors: ``records`` (every stored
  version of each source record the order's events come from, with its proof in its
  batch's tree), ``batches`` (their ``extraction_batch`` log entries with inclusion
  proofs), ``log`` (the C2SP signed checkpoint), ``anchors`` (its receipts);
- build → crosswalk rows, derivation spec, order claim: ``build`` (the ``dbt_build`` log
  entry and its proof), ``derivation`` (the spec whose hash it logged and the crosswalk
  rows used, proved against the crosswalk root it logged), ``claim`` (the order's status,
  shipments and event ids, proved against the claims root it logged);

and ``events`` / ``not_events``: the canonical events and the status values that are no
event, which the verifier re-derives from the records (:mod:`ledger.bundle.derive`) before
it re-derives the status from the events (:mod:`ledger.bundle.rollup`).

One place defines it: :mod:`ledger.bundle.format` (names), :mod:`ledger.bundle.build`
(:class:`BundleBuilder`), :mod:`ledger.bundle.verify` (:func:`verify_bundle`, raising
:class:`BundleError` naming the first item that fails) with :mod:`~ledger.bundle.witnesses`
and :mod:`~ledger.bundle.proving`; committed tables in :mod:`ledger.bundle.tables`, record
reading in :mod:`ledger.bundle.values`. A consistency document (``format:
orderhub-consistency/v1``: two signed checkpoints and the proof between them) is made by
:func:`consistency_document` and checked by :func:`verify_consistency_document`. The
ledger knows no source system: systems, tables, fields and rules are the spec's data.
"""

from ledger.bundle.build import BundleBuilder, consistency_document, proved_row
from ledger.bundle.format import (
    BATCH_EVENT,
    BATCH_EVENT_FIELDS,
    BUILD_EVENT,
    BUILD_EVENT_FIELDS,
    BUNDLE_FORMAT,
    CONSISTENCY_FORMAT,
    BundleError,
    Report,
)
from ledger.bundle.verify import verify_bundle, verify_consistency_document

__all__ = [
    "BATCH_EVENT",
    "BATCH_EVENT_FIELDS",
    "BUILD_EVENT",
    "BUILD_EVENT_FIELDS",
    "BUNDLE_FORMAT",
    "CONSISTENCY_FORMAT",
    "BundleBuilder",
    "BundleError",
    "Report",
    "consistency_document",
    "proved_row",
    "verify_bundle",
    "verify_consistency_document",
]
