"""The auditor's operations on the warehouse, one job per module.

- :mod:`~orderhub.audit.trace`: :func:`trace_order`, the audit bundle of one order (the
  format, its builder and its verifier are :mod:`ledger.bundle`), with
  :mod:`~orderhub.audit.records` (every version of the order's source records) and
  :mod:`~orderhub.audit.build_proofs` (the logged build, the order's claim, the crosswalk
  rows);
- :mod:`~orderhub.audit.check`: :func:`check_warehouse`, every row changed since it was
  logged (log, raw rows and batches), with :mod:`~orderhub.audit.derivations` for the
  canonical rows;
- :mod:`~orderhub.audit.consistency`: :func:`consistency`, the proof that a newer
  checkpoint extends an older one;
- :mod:`~orderhub.audit.repair`: :func:`repair_trees`, the batch trees a trace reads,
  rebuilt and checked against the log where the loader did not store them;
- :mod:`~orderhub.audit.queries`: what they share (warehouse reads, the leaf order in SQL,
  :class:`AuditError`).

``orderhub audit ...`` (:mod:`orderhub.cli.audit`) calls them.
"""

from orderhub.audit.check import check_warehouse
from orderhub.audit.consistency import consistency, read_checkpoint_argument, stored_checkpoint
from orderhub.audit.queries import AuditError, CheckReport, Finding
from orderhub.audit.repair import RepairReport, repair_trees
from orderhub.audit.trace import trace_order

__all__ = [
    "AuditError",
    "CheckReport",
    "Finding",
    "RepairReport",
    "check_warehouse",
    "consistency",
    "read_checkpoint_argument",
    "repair_trees",
    "stored_checkpoint",
    "trace_order",
]
