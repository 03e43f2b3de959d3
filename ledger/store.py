"""The RFC 9162 log stored in PostgreSQL (schema ``ledger``).

Tables:

- ``ledger.leaves(idx, leaf_hash, body)``: entry ``idx`` as its RFC 8785
  canonical JSON bytes and ``leaf_hash = SHA-256(0x00 || body)``;
- ``ledger.nodes(level, idx, hash)``: every *perfect subtree* of level >= 1
  (the complete subtree over leaves ``[idx * 2**level, (idx + 1) * 2**level)``,
  see :mod:`ledger.layout`), written once when its last leaf arrives;
- ``ledger.head``: one row with the tree size; appends lock it, so two writers
  never fork the log and leaf indexes stay contiguous;
- ``ledger.checkpoints(tree_size, root_hash, note, created_at)``: signed
  checkpoints (written by :mod:`ledger.log`); a trigger refuses one smaller than
  the last, or of the same size with another root;
- ``ledger.batch_trees``: every level of a tree by id - an extraction batch's record
  tree (:mod:`ledger.batches`, which owns the table), a build's claims tree
  (``claims:<log index>``) - and its leaf index, so a proof is a few slices, not a rebuild;
- ``ledger.anchor_receipts``: where each checkpoint was anchored, as the receipts
  :mod:`ledger.receipts` writes;
- view ``ledger.events``: the entries as ``jsonb``; ``ledger.entry(body)`` parses one
  body, a partial index on it finds a batch id's entry (:func:`batch_entry`).

Roots and proofs are folded from the stored perfect subtrees (at most log2(n)
per range, O(log^2 n) per proof, fetched in one query), never by re-hashing
leaves. An append reads the O(log n) subtrees on the right border, computes the
new leaves and completed subtrees in Python (:mod:`ledger.compact`) and writes
them with ``COPY``. The three data tables are append-only: a trigger refuses
UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg

from ledger import compact, layout
from ledger.batch_trees_ddl import BATCH_TREES_DDL
from ledger.bulk import batch_entries, fetch_subtrees, subtrees_read
from ledger.canonical import canonical_json
from ledger.errors import StoreError
from ledger.hashing import leaf_hash as _leaf_hash
from ledger.sessions import Read, alone, reading

SCHEMA = "ledger"

_DDL = """
create schema if not exists ledger;

create table if not exists ledger.head (
    singleton boolean primary key default true check (singleton),
    tree_size bigint not null check (tree_size >= 0)
);
insert into ledger.head (singleton, tree_size) values (true, 0) on conflict do nothing;
comment on table ledger.head is
    'Size of the provenance log; appends lock this row so the log never forks.';

create table if not exists ledger.leaves (
    idx bigint primary key check (idx >= 0),
    leaf_hash bytea not null check (octet_length(leaf_hash) = 32),
    body bytea not null
);
comment on table ledger.leaves is
    'Log entries: RFC 8785 canonical JSON and RFC 9162 leaf hash SHA-256(0x00 || body).';

create table if not exists ledger.nodes (
    level smallint not null check (level between 1 and 62),
    idx bigint not null check (idx >= 0),
    hash bytea not null check (octet_length(hash) = 32),
    primary key (level, idx)
);
comment on table ledger.nodes is
    'Hash of every complete subtree over leaves [idx * 2^level, (idx + 1) * 2^level).';

create table if not exists ledger.checkpoints (
    id bigserial primary key,
    tree_size bigint not null check (tree_size >= 0),
    root_hash bytea not null check (octet_length(root_hash) = 32),
    note text not null,
    created_at timestamptz not null default now()
);
create index if not exists checkpoints_tree_size on ledger.checkpoints (tree_size);
comment on table ledger.checkpoints is
    'C2SP signed-note checkpoints of the log; never smaller than the one before.';

create or replace view ledger.events as
    select idx, leaf_hash, convert_from(body, 'UTF8')::jsonb as event from ledger.leaves;

-- The database encoding of a ledger is UTF-8 (canonical JSON is UTF-8), so parsing a
-- body never depends on the session: immutable, as an index expression requires.
create or replace function ledger.entry(body bytea) returns jsonb
language sql immutable strict parallel safe as $$
    select convert_from(body, 'UTF8')::jsonb
$$;
-- Entries are RFC 8785 JSON of {"kind", "payload", "recorded_at"}: keys sorted, so "kind"
-- comes first and a byte prefix tells an extraction_batch entry without parsing it.
create index if not exists leaves_extraction_batch
    on ledger.leaves ((ledger.entry(body) #>> '{payload,batch_id}'))
    where substring(body from 1 for 27) = '{"kind":"extraction_batch",'::bytea;

create table if not exists ledger.anchor_receipts (
    id bigserial primary key,
    anchor text not null,
    tree_size bigint not null check (tree_size >= 0),
    root_hash bytea not null check (octet_length(root_hash) = 32),
    receipt bytea not null,
    log_index bigint,
    created_at timestamptz not null default now()
);
create index if not exists anchor_receipts_checkpoint
    on ledger.anchor_receipts (tree_size, root_hash);
comment on table ledger.anchor_receipts is
    'Anchor receipts of checkpoints (RFC 8785 JSON) and the log entry that recorded each.';

create or replace function ledger.refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'ledger.% is append-only: % refused', tg_table_name, tg_op;
end $$;

create or replace function ledger.checkpoint_never_shrinks() returns trigger
language plpgsql as $$
declare
    last_size bigint;
    last_root bytea;
begin
    select tree_size, root_hash into last_size, last_root
        from ledger.checkpoints order by tree_size desc, id desc limit 1;
    if found and new.tree_size < last_size then
        raise exception 'checkpoint of size % is smaller than the last one (%)',
            new.tree_size, last_size;
    end if;
    if found and new.tree_size = last_size and new.root_hash <> last_root then
        raise exception 'checkpoint of size % has another root than the last one (a fork)',
            new.tree_size;
    end if;
    return new;
end $$;

create or replace trigger leaves_append_only before update or delete or truncate
    on ledger.leaves for each statement execute function ledger.refuse_change();
create or replace trigger nodes_append_only before update or delete or truncate
    on ledger.nodes for each statement execute function ledger.refuse_change();
create or replace trigger checkpoints_append_only before update or delete or truncate
    on ledger.checkpoints for each statement execute function ledger.refuse_change();
create or replace trigger anchor_receipts_append_only before update or delete or truncate
    on ledger.anchor_receipts for each statement execute function ledger.refuse_change();
create or replace trigger checkpoints_never_shrink before insert
    on ledger.checkpoints for each row execute function ledger.checkpoint_never_shrinks();

comment on schema ledger is 'orderhub provenance ledger, schema 5';
"""

#: The comment the last DDL statement puts on the schema: its presence means "up to date"
#: (schema 5: a faster ``ledger.tree_proof``, the same answers; the tables are those of
#: schema 4, so an older ledger only runs the idempotent DDL again).
_SCHEMA_MARK = "orderhub provenance ledger, schema 5"

#: Key of the transaction-level advisory lock that serialises schema creation.
_SCHEMA_LOCK = 0x6C6F67_0001


def _schema_mark(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = %s",
        (SCHEMA,),
    ).fetchone()
    return None if row is None else row[0]


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the ``ledger`` schema, tables, view and triggers if they are missing.

    Needs PostgreSQL 14 or later. Cheap when the schema is already there (one
    catalog read, no DDL, so no lock that would wait for a running append).
    """
    with conn.transaction():
        if _schema_mark(conn) == _SCHEMA_MARK:
            return
        conn.execute("select pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        if _schema_mark(conn) != _SCHEMA_MARK:
            conn.execute(_DDL)
            conn.execute(BATCH_TREES_DDL)


def lock_head(conn: psycopg.Connection[Any]) -> int:
    """Lock the head row until the current transaction ends; return the tree size.

    Call inside ``conn.transaction()``. Appends and checkpoints take this lock.
    """
    row = conn.execute("select tree_size from ledger.head where singleton for update").fetchone()
    if row is None:
        raise StoreError("ledger.head has no row: run ledger.store.ensure_schema first")
    return int(row[0])


def _head(conn: psycopg.Connection[Any]) -> int:
    try:
        row = conn.execute("select tree_size from ledger.head where singleton").fetchone()
    except psycopg.errors.UndefinedTable as exc:
        raise StoreError("there is no ledger.head: run ledger.store.ensure_schema first") from exc
    if row is None:
        raise StoreError("ledger.head has no row: run ledger.store.ensure_schema first")
    return int(row[0])


def tree_size(conn: psycopg.Connection[Any]) -> int:
    """Number of entries in the log."""
    with reading(conn):
        return _head(conn)


def _range_hashes(conn: psycopg.Connection[Any], ranges: Sequence[layout.Range]) -> list[bytes]:
    per_range = layout.nodes_for(ranges)
    found, _ = fetch_subtrees(conn, [node for nodes in per_range for node in nodes])
    return [layout.fold([found[node] for node in nodes]) for nodes in per_range]


def _size_or_head(conn: psycopg.Connection[Any], size: int | None) -> int:
    head = _head(conn)
    if size is None:
        return head
    if not 0 <= size <= head:
        raise StoreError(f"size {size} is not between 0 and the log size {head}")
    return size


def root(conn: psycopg.Connection[Any], size: int | None = None) -> bytes:
    """Root hash of the log at ``size`` entries (default: now)."""
    with reading(conn):
        size = _size_or_head(conn, size)
        (value,) = _range_hashes(conn, [(0, size)])
    return value


def inclusion_proof(
    conn: psycopg.Connection[Any], index: int, size: int | None = None
) -> list[bytes]:
    """RFC 9162 inclusion proof of entry ``index`` in the log at ``size`` entries."""
    with reading(conn):
        size = _size_or_head(conn, size)
        if not 0 <= index < size:
            raise StoreError(f"entry {index} is not in the log of size {size}")
        return _range_hashes(conn, layout.inclusion_ranges(index, size))


def consistency_proof(conn: psycopg.Connection[Any], old: int, new: int) -> list[bytes]:
    """RFC 9162 consistency proof from the log at ``old`` entries to ``new`` entries."""
    with reading(conn):
        new = _size_or_head(conn, new)
        if not 0 <= old <= new:
            raise StoreError(f"old size {old} is not between 0 and the new size {new}")
        return _range_hashes(conn, layout.consistency_ranges(old, new))


def leaf(conn: psycopg.Connection[Any], index: int) -> tuple[dict[str, Any], bytes]:
    """Entry ``index`` as ``(event, leaf_hash)``, after checking the hash matches the body."""
    with reading(conn):
        row = conn.execute(
            "select body, leaf_hash from ledger.leaves where idx = %s", (index,)
        ).fetchone()
    if row is None:
        raise StoreError(f"entry {index} is not in the log")
    body, stored = bytes(row[0]), bytes(row[1])
    if _leaf_hash(body) != stored:
        raise StoreError(f"entry {index}: its stored leaf hash does not match its body")
    return json.loads(body), stored


def proved_entries_read(
    indexes: Sequence[int], size: int
) -> Read[dict[int, tuple[dict[str, Any], list[bytes]]]]:
    """:func:`proved_entries` as a :class:`~ledger.sessions.Read`, to send with others."""
    wanted = sorted(set(indexes))
    outside = [i for i in wanted if not 0 <= i < size]
    if outside:
        raise StoreError(f"entry {outside[0]} is not in the log of size {size}")
    ranges = {i: layout.nodes_for(layout.inclusion_ranges(i, size)) for i in wanted}
    needed = [node for per in ranges.values() for nodes in per for node in nodes]
    subtrees = subtrees_read(needed + [(0, i) for i in wanted], wanted)

    def parse(rows: list[Any]) -> dict[int, tuple[dict[str, Any], list[bytes]]]:
        found, bodies = subtrees.parse(rows)
        out = {}
        for i in wanted:
            if _leaf_hash(bodies[i]) != found[0, i]:
                raise StoreError(f"entry {i}: its stored leaf hash does not match its body")
            proof = [layout.fold([found[node] for node in nodes]) for nodes in ranges[i]]
            out[i] = (json.loads(bodies[i]), proof)
        return out

    return Read(subtrees.query, subtrees.params, parse)


def proved_entries(
    conn: psycopg.Connection[Any], indexes: Sequence[int], size: int
) -> dict[int, tuple[dict[str, Any], list[bytes]]]:
    """Entries ``indexes`` with their inclusion proofs in the log at ``size`` entries, in
    one round trip, each body checked against its leaf hash (:func:`leaf`,
    :func:`inclusion_proof` for many; a size beyond the log finds a subtree missing)."""
    return alone(conn, proved_entries_read(indexes, size))


def append(conn: psycopg.Connection[Any], events: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append ``events`` (as canonical JSON leaves) atomically; return their indexes.

    Runs in its own transaction, or in a savepoint of the caller's; the head row
    stays locked until that transaction ends.
    """
    bodies = [canonical_json(event) for event in events]
    if not bodies:
        return []
    hashes = [_leaf_hash(body) for body in bodies]
    with conn.transaction():
        start = lock_head(conn)
        border = layout.root_nodes(start)
        found, _ = fetch_subtrees(conn, border)
        frontier = compact.from_nodes(start, [found[node] for node in border])
        nodes = frontier.extend(hashes)
        with conn.cursor() as cur:
            with cur.copy(
                "copy ledger.leaves (idx, leaf_hash, body) from stdin (format binary)"
            ) as copy:
                copy.set_types(["int8", "bytea", "bytea"])
                for offset, (body, h) in enumerate(zip(bodies, hashes, strict=True)):
                    copy.write_row((start + offset, h, body))
            if nodes:
                with cur.copy(
                    "copy ledger.nodes (level, idx, hash) from stdin (format binary)"
                ) as copy:
                    copy.set_types(["int2", "int8", "bytea"])
                    for node in nodes:
                        copy.write_row(node)
        conn.execute(
            "update ledger.head set tree_size = %s where singleton", (start + len(bodies),)
        )
    return list(range(start, start + len(bodies)))


def batch_entry(conn: psycopg.Connection[Any], batch_id: str) -> int | None:
    """Index of the first ``extraction_batch`` entry whose payload names ``batch_id``, or None
    (:func:`ledger.bulk.batch_entries`; the caller still checks the entry, :func:`leaf`)."""
    return batch_entries(conn, [batch_id]).get(batch_id)


def latest_entry_read(kind: str, size: int, field: str | None = None) -> Read[int | None]:
    """:func:`latest_entry` as a :class:`~ledger.sessions.Read`, to send with others."""
    prefix = canonical_json({"kind": kind})[:-1] + b","
    query = (
        "select idx from ledger.leaves where idx < %s"
        " and substring(body from 1 for %s) = %s"
        + ("" if field is None else " and ledger.entry(body) -> 'payload' ->> %s is not null")
        + " order by idx desc limit 1"
    )
    params: tuple[Any, ...] = (size, len(prefix), prefix) + (() if field is None else (field,))
    return Read(query, params, lambda rows: int(rows[0][0]) if rows else None)


def latest_entry(
    conn: psycopg.Connection[Any], kind: str, size: int, field: str | None = None
) -> int | None:
    """Index of the latest entry of ``kind`` below ``size`` (with ``field`` not null in its
    payload, when given), or None: read backwards, the kind told by a byte prefix."""
    return alone(conn, latest_entry_read(kind, size, field))


def scan_leaves(
    conn: psycopg.Connection[Any], size: int | None = None, chunk: int = 20_000
) -> Iterator[tuple[int, bytes, bytes]]:
    """Every stored entry below ``size`` (default: the head) as ``(idx, leaf_hash, body)``.

    Reads in chunks of ``chunk`` rows, in index order, without checking anything:
    an auditing caller recomputes the hashes itself.
    """
    size = tree_size(conn) if size is None else size
    start = 0
    while start < size:
        end = min(start + chunk, size)
        with conn.transaction():
            rows = conn.execute(
                "select idx, leaf_hash, body from ledger.leaves"
                " where idx >= %s and idx < %s order by idx",
                (start, end),
            ).fetchall()
        expected = start
        for idx, stored, body in rows:
            if int(idx) != expected:
                break
            yield expected, bytes(stored), bytes(body)
            expected += 1
        if expected < end:
            raise StoreError(f"entry {expected} is missing from ledger.leaves (log size {size})")
        start = end
