"""The warehouse tables the connectors write (docs/sources.md, "Raw tables").

``orderhub_meta.connector_state``, ``orderhub_meta.extraction_batches`` and
``orderhub_meta.quarantine`` (records that did not fit their stream's schema: the reason, the
batch and the payload, one row per distinct content, kept by the batch that first saw it), and one
``raw_<system>.<stream>`` table per registered stream, primary key ``(record_key,
content_hash)`` with an index on ``batch_id`` (the audit reads a batch's rows). The
``ledger`` schema is created too: a batch's Merkle tree is stored in ``ledger.batch_trees``
as the batch succeeds (:mod:`connectors.batches`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from connectors.catalog import CONNECTORS
from ledger import store as ledger_store
from orderhub.warehouse import apply_ddl

META_DDL = """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.connector_state (
    system text not null,
    stream text not null,
    state jsonb not null,
    updated_at timestamptz not null default now(),
    primary key (system, stream)
);
create table if not exists orderhub_meta.extraction_batches (
    batch_id text primary key,
    system text not null,
    stream text not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    records_read bigint not null default 0,
    records_new bigint not null default 0,
    cursor_from text,
    cursor_to text,
    merkle_root text,
    status text not null
);
create index if not exists extraction_batches_system_stream_idx
    on orderhub_meta.extraction_batches (system, stream, started_at);
alter table orderhub_meta.extraction_batches
    add column if not exists records_quarantined bigint not null default 0;
-- the transaction that closed the batch: a build's snapshot says whether it saw the batch
alter table orderhub_meta.extraction_batches add column if not exists closed_xid xid8;
create table if not exists orderhub_meta.quarantine (
    batch_id text not null,
    system text not null,
    stream text not null,
    record_key text,
    content_hash text not null,
    cursor_value text,
    reason text not null,
    payload jsonb not null,
    quarantined_at timestamptz not null,
    primary key (batch_id, content_hash)
);
create index if not exists quarantine_system_stream_idx
    on orderhub_meta.quarantine (system, stream, record_key);
-- a record read again with the same content is not quarantined again
create index if not exists quarantine_content_idx
    on orderhub_meta.quarantine (system, stream, content_hash);
"""

RAW_DDL = """
create schema if not exists {schema};
create table if not exists {table} (
    record_key text not null,
    content_hash text not null,
    data jsonb not null,
    cursor_value text,
    batch_id text not null,
    extracted_at timestamptz not null,
    primary key (record_key, content_hash)
);
create index if not exists {index} on {table} (batch_id);
"""


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create ``orderhub_meta``, every ``raw_<system>.<stream>`` table and the ``ledger``
    schema, where the loader keeps each batch's tree (idempotent)."""
    ledger_store.ensure_schema(conn)
    raw = [
        sql.SQL(RAW_DDL).format(
            schema=sql.Identifier(connector.raw_schema),
            table=sql.Identifier(connector.raw_schema, stream.name),
            index=sql.Identifier(f"{stream.name}_batch_id_idx"),
        )
        for connector in CONNECTORS.values()
        for stream in connector.streams
    ]
    apply_ddl(conn, "orderhub.connectors.schema", META_DDL, *raw)
