"""What the audit commands share: warehouse reads (relations, raw tables, batches,
checkpoints), the error they raise and the report ``orderhub audit check`` fills.

The product's side of the ledger's batch trees lives here: :func:`batch_hashes` reads a
batch's content hashes back from its raw table in the ledger's leaf order
(:func:`ledger.batches.leaf_order`, written in SQL as :data:`LEAF_ORDER_SQL`), which is
how ``orderhub audit check`` recomputes a logged root and ``orderhub audit repair-trees``
rebuilds a tree the loader did not store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from connectors.catalog import CONNECTORS
from ledger import store
from ledger.hashing import HASH_SIZE
from ledger.log import SignedCheckpoint, latest_checkpoint

CANONICAL_TABLE = "marts.fct_order_status_events"
DERIVATION_VIEW = "intermediate.int_order_events__mapped"
#: The command that stores the batch trees a trace needs (named in errors and notes).
REPAIR_COMMAND = "orderhub audit repair-trees"
#: :func:`ledger.batches.leaf_order` in SQL over a raw table: bytewise (``collate "C"``, no
#: locale) by record key, then by content hash, whose lowercase hex sorts as its 32 bytes.
LEAF_ORDER_SQL = 'record_key collate "C", content_hash collate "C"'

#: Why an audit command finds no ledger.
NO_LEDGER = "the warehouse has no provenance ledger yet (run the flow once)"

Progress = Callable[[str], None]


class AuditError(RuntimeError):
    """The warehouse cannot answer the audit question; the message says why."""


@dataclass(frozen=True)
class Finding:
    """One thing that changed since it was logged."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class CheckReport:
    """What ``orderhub audit check`` looked at and what it found."""

    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def add(self, where: str, what: str) -> None:
        self.findings.append(Finding(where, what))


def quiet(_: str) -> None:
    """A progress callback that says nothing."""
    return None


def exists(conn: psycopg.Connection[Any], relation: str) -> bool:
    """Whether ``relation`` (``schema.name``) exists."""
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


def require(conn: psycopg.Connection[Any], relations: dict[str, str]) -> None:
    """AuditError with the message of the first of ``relations`` (``schema.name`` ->
    why it is missing) that does not exist: one query for all of them."""
    missing = {
        str(row[0])
        for row in conn.execute(
            "select r from unnest(%s::text[]) as r where to_regclass(r) is null",
            (list(relations),),
        )
    }
    for relation, message in relations.items():
        if relation in missing:
            raise AuditError(message)


def columns(conn: psycopg.Connection[Any], relation: str) -> list[str]:
    """The column names of ``relation``, in order."""
    return [
        str(row[0])
        for row in conn.execute(
            "select attname from pg_attribute where attrelid = %s::regclass"
            " and attnum > 0 and not attisdropped order by attnum",
            (relation,),
        )
    ]


def raw_tables(system: str) -> list[tuple[str, str]]:
    """``(schema, table)`` of every raw table of ``system``."""
    spec = CONNECTORS.get(system)
    if spec is None:
        raise AuditError(f"unknown source system {system!r} (known: {', '.join(CONNECTORS)})")
    return [(spec.raw_schema, stream) for stream in spec.stream_names]


def latest_signed(
    conn: psycopg.Connection[Any], also: dict[str, str] | None = None
) -> SignedCheckpoint:
    """The latest signed checkpoint; AuditError when there is no ledger or none yet (or
    when one of the relations ``also`` names is missing: :func:`require`, same query)."""
    require(conn, {"ledger.checkpoints": NO_LEDGER, **(also or {})})
    return signed(latest_checkpoint(conn))


def signed(latest: SignedCheckpoint | None) -> SignedCheckpoint:
    """``latest`` (what :func:`ledger.log.latest_checkpoint` answered); AuditError when
    the ledger has no checkpoint yet."""
    if latest is None:
        raise AuditError("the ledger has no signed checkpoint yet (run the flow's publish step)")
    return latest


@dataclass(frozen=True)
class LoggedBatch:
    """A batch's ``extraction_batch`` log entry: where it is, what it says."""

    index: int
    event: dict[str, Any]

    @property
    def root_hex(self) -> str:
        return str(self.event["payload"].get("merkle_root"))

    @property
    def size(self) -> int:
        return int(self.event["payload"].get("records_stored", 0))


def logged_batch(conn: psycopg.Connection[Any], batch_id: str) -> LoggedBatch | None:
    """The first ``extraction_batch`` entry of ``batch_id`` (its hash checked), or None."""
    index = store.batch_entry(conn, batch_id)
    if index is None:
        return None
    event, _ = store.leaf(conn, index)
    return LoggedBatch(index, event)


def _split(blob: bytes | None) -> list[bytes]:
    data = bytes(blob) if blob is not None else b""
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def batch_hashes(
    conn: psycopg.Connection[Any], schema: str, table: str, batch_id: str
) -> list[bytes]:
    """The content hashes of a batch's rows in ``schema.table``, in leaf order.

    Fetched as one aggregated value, not a row per record.
    """
    row = conn.execute(
        sql.SQL(
            "select string_agg(decode(content_hash, 'hex'), ''::bytea order by {order})"
            " from {table} where batch_id = %s"
        ).format(order=sql.SQL(LEAF_ORDER_SQL), table=sql.Identifier(schema, table)),
        (batch_id,),
    ).fetchone()
    return _split(row[0] if row else None)


def batch_hashes_by_batch(
    conn: psycopg.Connection[Any], schema: str, table: str
) -> dict[str, list[bytes]]:
    """:func:`batch_hashes` of every batch in ``schema.table``, in one grouped query."""
    query = sql.SQL(
        "select batch_id, string_agg(decode(content_hash, 'hex'), ''::bytea order by {order})"
        " from {table} group by batch_id"
    ).format(order=sql.SQL(LEAF_ORDER_SQL), table=sql.Identifier(schema, table))
    return {batch_id: _split(blob) for batch_id, blob in conn.execute(query)}
