"""The pushed micro-batches a crash left half stored, closed when the intake's writer connects.

The intake stores a micro-batch in two transactions (:mod:`orderhub.live.intake`): the first
its rows, counts, event ids and hot-path queue, the second its Merkle tree, its status and
its ``extraction_batch`` event. A crash between the two, or a second transaction that
failed, leaves the batch ``running`` with its records stored but without the tree and the
event an ``orderhub audit trace`` proves them with; the senders' retries are redeliveries
and store nothing, so nothing would ever close it.

:func:`close_open_batches` does what the second transaction would have done, for every push
batch still ``running``: the tree rebuilt from the raw rows the batch inserted (in the
ledger's leaf order, the rows a batch inserts carry its id), stored with the status
``succeeded`` and the counts the first transaction stored, and the ``extraction_batch``
event appended, in one transaction per batch. The batch's ``finished_at`` is the repair's.

It runs each time the intake's writer opens a session, once that session holds the intake's
advisory lock (:data:`INTAKE_LOCK`, kept for the session's life): one writer per warehouse
closes batches, and never one that another intake's writer is between its two commits of.
A writer that cannot take the lock (another ``orderhub serve`` writing to the same
warehouse) stores its batches as before and closes none.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from connectors.batches import Batch, BatchCounts, succeed_batch
from connectors.catalog import CONNECTORS
from ledger.batches import BatchTree
from ledger.bundle.format import BATCH_EVENT
from ledger.log import ProvenanceLog
from orchestration.provenance import extraction_event
from orderhub.audit.queries import batch_hashes

LOGGER = logging.getLogger("orderhub.live.intake")
#: The advisory lock key of the intake's writer (``pg_try_advisory_lock``).
INTAKE_LOCK = 0x0DE2_1A7E
#: The prefix of a pushed micro-batch's id (``Intake._store_system``).
PUSH_PREFIX = "push-"

_OPEN = (
    "select batch_id, system, stream, started_at, cursor_from, cursor_to, records_read,"
    " records_new, records_quarantined from orderhub_meta.extraction_batches"
    " where status = 'running' and starts_with(batch_id, %s) order by started_at, batch_id"
)


def take_intake_lock(conn: psycopg.Connection[Any]) -> bool:
    """Whether this session now holds the intake's advisory lock (for its life)."""
    row = conn.execute("select pg_try_advisory_lock(%s)", (INTAKE_LOCK,)).fetchone()
    conn.commit()
    return bool(row and row[0])


def close_open_batches(conn: psycopg.Connection[Any], log: ProvenanceLog | None) -> list[str]:
    """Close every push batch left ``running`` (see the module); their ids."""
    open_batches = conn.execute(_OPEN, (PUSH_PREFIX,)).fetchall()
    conn.commit()
    closed = []
    for (
        batch_id,
        system,
        stream,
        started_at,
        cursor_from,
        cursor_to,
        read,
        new,
        held,
    ) in open_batches:
        batch = Batch(batch_id, system, stream, started_at, cursor_from)
        with conn.transaction():
            tree = BatchTree(batch_hashes(conn, CONNECTORS[system].raw_schema, stream, batch_id))
            result = succeed_batch(conn, batch, BatchCounts(read, new, held, cursor_to), tree)
            if log is not None:
                log.append_event(BATCH_EVENT, extraction_event(result))
        LOGGER.warning(
            "closed push batch %s left open (%d records stored, tree and event written now)",
            batch_id,
            tree.size,
        )
        closed.append(batch_id)
    return closed
