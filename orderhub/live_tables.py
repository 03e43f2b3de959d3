"""The live path's tables in ``orderhub_meta``: pushed events, pending records, the outbox,
subscriptions and deliveries (core: the warehouse bootstrap creates them before dbt builds
the change feed, ``api.order_changes``, over the outbox; ``orderhub.live`` writes them).

- ``push_events``: one row per event a sender pushed and orderhub stored, keyed by the
  sender's event id (a redelivery finds its row and stores nothing new);
- ``live_pending``: the source records a stored micro-batch changed, until the hot-path
  worker has recomputed their orders (rows are deleted in the worker's transaction, so a
  worker killed mid-batch leaves them pending). A queue, appended to: a record changed
  again while a worker holds it gets a row of its own, so storing never waits for a
  hot-path transaction to end (with one row per record, the insert's conflict did);
- ``outbox``: every canonical status change and every new exception, written in the
  transaction that made it; ``change_id`` is the change feed's cursor, assigned under one
  transaction-scoped advisory lock so that cursors follow commit order with no gap;
- ``subscriptions``: who is told (URL, secret, filter); ``deliveries``: each outbox row's
  delivery to each matching subscriber (attempts, next try, delivered or dead - the
  dead-letter list is the rows with ``dead_at``).

The deliveries are sent by jobs of procrastinate (a PostgreSQL job queue), whose schema
(``procrastinate_*`` in ``public``) is applied here when missing.
"""

from __future__ import annotations

from typing import Any

import psycopg

#: The advisory lock (one bigint) that serialises outbox cursor assignment.
OUTBOX_LOCK = 0x6F7574626F78  # "outbox"

#: Delivery jobs run per subscription and shard of orders (:mod:`orderhub.live.dispatch`):
#: an order's shard is ``hashtext(order_id) & (SHARDS - 1)`` (:data:`SHARD_OF`), a job's
#: lock ``<subscription>/<shard>``. Fewer, larger jobs than one per order: procrastinate's
#: worker fetches one job per query (17-25 ms under load), so at ~190 changes/s one job per
#: order and change waited seconds to be fetched (docs/live.md, "The dispatcher").
SHARDS = 16
SHARD_OF = f"(hashtext({{order}}) & {SHARDS - 1})"

DDL = (
    """
create schema if not exists orderhub_meta;
create table if not exists orderhub_meta.push_events (
    system text not null,
    event_id text not null,
    batch_id text not null,
    record_key text,
    received_at timestamptz not null default now(),
    primary key (system, event_id)
);
create table if not exists orderhub_meta.live_pending (
    pending_id bigint generated always as identity primary key,
    system text not null,
    record_key text not null,
    queued_at timestamptz not null default clock_timestamp()
);
-- a home made before the queue had one row per record, keyed by it: a storing batch's
-- insert on conflict waited for the hot-path transaction that had taken the record
-- (altered only then: an alter waits for every transaction on the table)
do $$ begin
    if not exists (select from information_schema.columns where table_schema =
                   'orderhub_meta' and table_name = 'live_pending' and column_name =
                   'pending_id') then
        alter table orderhub_meta.live_pending drop constraint live_pending_pkey;
        alter table orderhub_meta.live_pending
            add column pending_id bigint generated always as identity primary key;
    end if;
end $$;
create table if not exists orderhub_meta.outbox (
    change_id bigint primary key,
    order_id text not null,
    kind text not null,
    canonical_status text,
    previous_status text,
    exception_type text,
    partner_ids text[] not null default '{}',
    region text,
    payload jsonb not null,
    created_at timestamptz not null default clock_timestamp()
);
create index if not exists outbox_order_idx on orderhub_meta.outbox (order_id, change_id);
create table if not exists orderhub_meta.subscriptions (
    subscription_id bigserial primary key,
    url text not null,
    secret text not null,
    statuses text[],
    exception_types text[],
    partner_id text,
    region text,
    owner_role text,
    created_at timestamptz not null default now()
);
create table if not exists orderhub_meta.deliveries (
    change_id bigint not null references orderhub_meta.outbox on delete cascade,
    subscription_id bigint not null
        references orderhub_meta.subscriptions on delete cascade,
    order_id text not null,
    attempts int not null default 0,
    first_attempt_at timestamptz,
    next_attempt_at timestamptz not null default now(),
    delivered_at timestamptz,
    dead_at timestamptz,
    last_error text,
    primary key (subscription_id, change_id)
);
create index if not exists deliveries_pending_idx
    on orderhub_meta.deliveries (subscription_id, order_id, change_id)
    where delivered_at is null and dead_at is null;
create index if not exists deliveries_due_idx on orderhub_meta.deliveries (next_attempt_at)
    where delivered_at is null and dead_at is null;
-- a delivery job's pending deliveries: its subscription's and shard's, by this index
-- rather than every pending delivery of the subscription filtered (docs/live.md, "The
-- subscribers' side")
create index if not exists deliveries_shard_idx on orderhub_meta.deliveries
    (subscription_id, """
    + SHARD_OF.format(order="order_id")
    + """, order_id, change_id)
    where delivered_at is null and dead_at is null;
"""
)


def ensure_live_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the live path's tables, and procrastinate's (the delivery queue), where
    missing (commits)."""
    from procrastinate.schema import SchemaManager

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (OUTBOX_LOCK + 1,))
        conn.execute(DDL)
        if conn.execute("select to_regclass('public.procrastinate_jobs')").fetchone() == (None,):
            conn.execute(SchemaManager.get_schema())
