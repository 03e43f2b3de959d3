"""The source records an order's events come from: every stored version of each.

An event is re-derived from all versions of its record, not only the one it was sighted
in: a snapshot's code is an event when it differs from the previous version's, a tracking
detail is kept once, with its first sighting, and the latest version decides the order
and shipment. :func:`record_versions` reads them all, in the bundle's record form, from
the raw tables of their systems. A record's ``data`` is parsed back from the jsonb the
loader stored from the record's RFC 8785 text: the only numbers that come back changed
are floats written as integers beyond 2**53, which are read back as floats, so the data
hashes to its content hash again (:func:`parse_data`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ledger.bundle.values import iso_utc
from ledger.canonical import MAX_SAFE_INTEGER
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


def record_versions(
    conn: psycopg.Connection[Any], records: Iterable[tuple[str, str]], tables: Collection[str]
) -> list[StoredVersion]:
    """Every stored version of each ``(system, record_key)`` in the raw ``tables``
    (``schema.table``: :func:`orderhub.derivation.event_tables`), by system, table, key and
    extraction: one query over all the tables."""
    keys: dict[str, set[str]] = defaultdict(set)
    for system, key in records:
        keys[system].add(key)
    read = [
        (system, schema, table)
        for system in sorted(keys)
        for schema, table in raw_tables(system)
        if f"{schema}.{table}" in tables
    ]
    if not read:
        return []
    query = sql.SQL(" union all ").join(
        sql.SQL(
            "select {n}::int, record_key, content_hash, data::text, batch_id, extracted_at"
            " from {table} where record_key = any(%s)"
        ).format(n=sql.Literal(n), table=sql.Identifier(schema, table))
        for n, (_, schema, table) in enumerate(read)
    ) + sql.SQL(" order by 1, 2, 6, 3")
    return [
        StoredVersion(
            read[n][1], read[n][2], read[n][0], key, digest, batch_id,
            str(iso_utc(extracted_at)), parse_data(data),
        )
        for n, key, digest, data, batch_id, extracted_at in conn.execute(
            query, [sorted(keys[system]) for system, _, _ in read]
        )
    ]  # fmt: skip


__all__ = ["StoredVersion", "parse_data", "record_versions"]
