"""Test helper: what Airbyte's PostgreSQL destination (destination-postgres 3.x) writes into
the warehouse after a sync, written from its documentation and source, not from what
orderhub's ingest reads.

Followed: https://docs.airbyte.com/integrations/destinations/postgres and its migration guide
(https://docs.airbyte.com/integrations/destinations/postgres-migrations, "Upgrading to
3.0.0": Direct Load, no raw tables unless "Raw tables only" is on; final tables carry
``_airbyte_meta`` and ``_airbyte_generation_id``), and the connector's Kotlin sources in
airbytehq/airbyte: ``spec/PostgresSpecification.kt`` (``raw_data_schema`` default
``airbyte_internal``; ``disable_type_dedupe``, the legacy raw-tables-only mode),
``db/PostgresFinalTableNameGenerator.kt`` (raw mode: table ``<namespace>_raw__stream_<name>``,
lower case, in the internal schema; else ``<namespace>.<name>``) and
``sql/PostgresColumnUtils.kt`` (``_airbyte_raw_id`` varchar, ``_airbyte_extracted_at``
timestamptz, ``_airbyte_meta`` jsonb, ``_airbyte_generation_id`` bigint in every table; raw
tables add ``_airbyte_loaded_at`` timestamptz and ``_airbyte_data`` jsonb; typed tables add one
column per field: varchar, bigint, decimal, boolean, jsonb for objects and arrays). Records
reach the destination as the Airbyte protocol carries them: top-level nulls left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

DEFAULT_COLUMNS = (
    "_airbyte_raw_id varchar not null, _airbyte_extracted_at timestamp with time zone not null,"
    " _airbyte_meta jsonb not null, _airbyte_generation_id bigint"
)
RAW_COLUMNS = "_airbyte_loaded_at timestamp with time zone, _airbyte_data jsonb not null"


def _typed(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "boolean", value
    if isinstance(value, int):
        return "bigint", value
    if isinstance(value, float):
        return "decimal", value
    if isinstance(value, str):
        return "varchar", value
    return "jsonb", Jsonb(value)


def write_destination(
    db_url: str,
    configuration: Mapping[str, Any],
    namespace: str,
    stream: str,
    records: Iterable[Mapping[str, Any]],
    extracted_at: datetime,
) -> tuple[str, str]:
    """Write ``records`` of ``stream`` as the destination configured by ``configuration``
    does; the (schema, table) written."""
    delivered = [{k: v for k, v in r.items() if v is not None} for r in records]
    meta = Jsonb({"sync_id": 1, "changes": []})
    if configuration.get("disable_type_dedupe"):
        schema = str(configuration.get("raw_data_schema") or "airbyte_internal").lower()
        table = f"{namespace}_raw__stream_{stream}".lower()
        columns = sql.SQL(f"{DEFAULT_COLUMNS}, {RAW_COLUMNS}")
        names = ["_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta", "_airbyte_data"]
        rows = [[str(uuid.uuid4()), extracted_at, meta, Jsonb(r)] for r in delivered]
    else:  # Direct Load: typed final table only, no raw table
        schema, table = namespace, stream
        fields = sorted({k for r in delivered for k in r})
        types = {k: _typed(next(r[k] for r in delivered if k in r))[0] for k in fields}
        typed = ", ".join(f'"{k}" {types[k]}' for k in fields)
        columns = sql.SQL(f"{DEFAULT_COLUMNS}, {typed}")
        names = ["_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta", *fields]
        rows = [
            [str(uuid.uuid4()), extracted_at, meta, *(_typed(r.get(k))[1] for k in fields)]
            for r in delivered
        ]
    target = sql.Identifier(schema, table)
    with psycopg.connect(db_url) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("create table if not exists {} ({})").format(target, columns))
        fields_sql = sql.SQL(", ").join(map(sql.Identifier, names))
        with conn.cursor().copy(
            sql.SQL("copy {} ({}) from stdin").format(target, fields_sql)
        ) as copy:
            for row in rows:
                copy.write_row(row)
    return schema, table
