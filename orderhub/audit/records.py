"""The source records an order's events come from: every stored version of each.

An event is re-derived from all versions of its record, not only the one it was sighted
in: a snapshot's code is an event when it differs from the previous version's, a tracking
detail is kept once, with its first sighting, and the latest version decides the order
and shipment. :func:`record_versions` reads them all, in the bundle's record form, from
the raw tables of their systems. A record's ``data`` is parsed back from the jsonb the
loader stored from the record's RFC 8785 text: the only numbers that come back changed
are floats written as integers beyond 2**53, which are read back as floats, so the data
hashes to its content hash again (:func:`parse_data`). :func:`versions_read` is the same
statement, which also finds each batch's log entry, to send with a trace's other reads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ledger.bulk import first_batch_entry_sql
from ledger.bundle.values import iso_utc
from ledger.canonical import MAX_SAFE_INTEGER
from ledger.sessions import Read, alone
from orderhub.audit.queries import raw_tables


def _number(text: str) -> int | float:
    value = int(text)
    return value if abs(value) <= MAX_SAFE_INTEGER else float(text)


def parse_data(text: str) -> Any:
    """A record's data from its jsonb text (see the module)."""
    return json.loads(text, parse_int=_number)


@dataclass(frozen=True)
class StoredVersion:
    """One stored version of a source record."""

    schema: str
    table: str
    system: str
    record_key: str
    content_hash: str
    batch_id: str
    extracted_at: str
    data: Any

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


def _read_tables(
    records: Iterable[tuple[str, str]], tables: Collection[str]
) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for system, key in records:
        keys[system].add(key)
    read = [
        (system, schema, table)
        for system in sorted(keys)
        for schema, table in raw_tables(system)
        if f"{schema}.{table}" in tables
    ]
    return keys, read


def versions_read(
    records: Iterable[tuple[str, str]], tables: Collection[str]
) -> Read[tuple[list[StoredVersion], dict[str, int]]]:
    """:func:`record_versions` and, in the same statement, the log index of each version's
    batch's first ``extraction_batch`` entry (:func:`ledger.bulk.batch_entries`: batches
    no entry names are left out), as a :class:`~ledger.sessions.Read` to send with others
    (no statement when no table is read)."""
    keys, read = _read_tables(records, tables)
    if not read:
        return Read(None, None, lambda _: ([], {}))
    union = sql.SQL(" union all ").join(
        sql.SQL(
            "select {n}::int as n, record_key, content_hash, data::text as data, batch_id,"
            " extracted_at from {table} where record_key = any(%s)"
        ).format(n=sql.Literal(n), table=sql.Identifier(schema, table))
        for n, (_, schema, table) in enumerate(read)
    )
    query = sql.SQL("select v.*, {entry} from ({union}) v order by 1, 2, 6, 3").format(
        entry=sql.SQL(first_batch_entry_sql("v.batch_id")), union=union
    )

    def parse(rows: list[Any]) -> tuple[list[StoredVersion], dict[str, int]]:
        versions = [
            StoredVersion(
                read[n][1], read[n][2], read[n][0], key, digest, batch_id,
                str(iso_utc(extracted_at)), parse_data(data),
            )
            for n, key, digest, data, batch_id, extracted_at, _ in rows
        ]  # fmt: skip
        entries = {str(row[4]): int(row[6]) for row in rows if row[6] is not None}
        return versions, entries

    return Read(query, [sorted(keys[system]) for system, _, _ in read], parse)


def record_versions(
    conn: psycopg.Connection[Any], records: Iterable[tuple[str, str]], tables: Collection[str]
) -> list[StoredVersion]:
    """Every stored version of each ``(system, record_key)`` in the raw ``tables``
    (``schema.table``: :func:`orderhub.derivation.event_tables`), by system, table, key and
    extraction: one query over all the tables."""
    versions, _ = alone(conn, versions_read(records, tables))
    return versions


__all__ = ["StoredVersion", "parse_data", "record_versions", "versions_read"]
