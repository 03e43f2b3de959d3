"""Tracking tokens: the per-order secret a shop prints on the order confirmation.

A customer looks an order up with its id and its tracking token (``/rpc/track``, the dbt
model ``api_track``); nothing else is needed and nothing can be listed. The token is
derivable, never stored: the first 12 bytes of HMAC-SHA256(key, order id), as 24 hex
digits, where the key is the home's secret ``tracking-secret``
(``ORDERHUB_SECRET_TRACKING_SECRET`` or ``<home>/secrets/tracking-secret``). A warehouse
rebuilt from the same home gives the same tokens; a new secret changes them all.

This module owns the warehouse schema ``api_private`` (not served by PostgREST): the key's
one-row table and the two SQL functions that derive a token, ``api_private.hmac_sha256``
(RFC 2104 over PostgreSQL's own ``sha256``: no extension needed) and
``api_private.tracking_token(order_id)``. The formula lives there, once: the lookup
compares with it, and :func:`tracking_token` asks it. Execution is revoked from PUBLIC;
dbt grants it to the role the lookup runs as (``ensure_api_roles``).
"""

from __future__ import annotations

import psycopg

from orderhub.secrets import get_secret
from orderhub.settings import Settings

#: The home secret the tokens are derived with.
TRACKING_SECRET = "tracking-secret"
SCHEMA = "api_private"

_DDL = (
    f"create schema if not exists {SCHEMA}",
    f"revoke all on schema {SCHEMA} from public",
    f"""create table if not exists {SCHEMA}.tracking_keys (
        key_id smallint primary key default 1 check (key_id = 1),
        secret bytea not null,
        updated_at timestamptz not null default now()
    )""",
    f"revoke all on {SCHEMA}.tracking_keys from public",
    # RFC 2104 with SHA-256 (block size 64 bytes): a longer key is hashed first, the key
    # is padded with zeros to the block, XORed with 0x36 (inner) and 0x5c (outer)
    f"""create or replace function {SCHEMA}.hmac_sha256(key bytea, message bytea)
    returns bytea language sql immutable strict parallel safe
    set search_path = pg_catalog
    as $$
        with block as (
            select case when length(key) > 64 then sha256(key) else key end as k
        ),
        padded as (
            select k || decode(repeat('00', 64 - length(k)), 'hex') as k from block
        ),
        pads as (
            select
                decode(string_agg(lpad(to_hex(get_byte(k, i) # 54), 2, '0'), '' order by i),
                    'hex') as inner_pad,
                decode(string_agg(lpad(to_hex(get_byte(k, i) # 92), 2, '0'), '' order by i),
                    'hex') as outer_pad
            from padded, generate_series(0, 63) as i
        )
        select sha256(outer_pad || sha256(inner_pad || message)) from pads
    $$""",
    f"""create or replace function {SCHEMA}.tracking_token(order_id text)
    returns text language sql stable strict parallel safe
    set search_path = pg_catalog
    as $$
        select encode(substring(
            {SCHEMA}.hmac_sha256(secret, convert_to(order_id, 'UTF8')) from 1 for 12
        ), 'hex')
        from {SCHEMA}.tracking_keys
    $$""",
    f"revoke all on function {SCHEMA}.hmac_sha256(bytea, bytea) from public",
    f"revoke all on function {SCHEMA}.tracking_token(text) from public",
)


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create ``api_private`` with the key table and the token functions. Idempotent."""
    conn.execute("select pg_advisory_xact_lock(hashtext('orderhub.tracking.ddl'))")
    for statement in _DDL:
        conn.execute(statement)


def install_secret(conn: psycopg.Connection, secret: str) -> None:
    """Store the key the tokens are derived with (replacing any other)."""
    conn.execute(
        f"insert into {SCHEMA}.tracking_keys (key_id, secret) values (1, %s)"
        " on conflict (key_id) do update set secret = excluded.secret, updated_at = now()"
        f" where {SCHEMA}.tracking_keys.secret is distinct from excluded.secret",
        (secret.encode(),),
    )


def prepare(conn: psycopg.Connection, settings: Settings) -> None:
    """Schema, functions and the home's key, in the open transaction of ``conn``."""
    ensure_schema(conn)
    install_secret(conn, get_secret(settings, TRACKING_SECRET))


def tracking_token(conn: psycopg.Connection, order_id: str) -> str:
    """The tracking token of ``order_id``, as the warehouse derives it."""
    row = conn.execute(f"select {SCHEMA}.tracking_token(%s)", (order_id,)).fetchone()
    if row is None or row[0] is None:
        raise LookupError("the warehouse holds no tracking key: run orderhub demo or api first")
    return str(row[0])
