"""The DDL of ``ledger.batch_trees`` (the stored trees of :mod:`ledger.batches`) and of
``ledger.tree_proof``, the server's search of a leaf in one and read of its audit path.

``ledger.tree_proof(tree, leaf)`` answers the position of ``leaf`` (a 32-byte leaf hash) in
the tree and its audit path, bottom up: ``idx`` -1 when the leaf is not in the tree,
nothing when the tree is not stored with a leaf index. It reads slices of the stored
values, never a whole one: the leaf index entries around where the leaf's first four bytes
put it (leaf hashes are SHA-256, so uniform: the entry is within twice the square root of
the size of there nearly always), searched in memory; a binary search on slices of the
rest when the entry is not among them; then the path's hashes in one query.
"""

from __future__ import annotations

#: The table of stored trees and the server-side search of a leaf in one (see the module).
BATCH_TREES_DDL = """
create table if not exists ledger.batch_trees (
    batch_id text primary key,
    tree_size bigint not null check (tree_size >= 0),
    root_hash bytea not null check (octet_length(root_hash) = 32),
    levels bytea not null
);
alter table ledger.batch_trees add column if not exists leaf_index bytea;
alter table ledger.batch_trees alter column levels set storage external;
alter table ledger.batch_trees alter column leaf_index set storage external;
comment on table ledger.batch_trees is
    'Levels and sorted leaf index of each stored record tree (ledger.batches): proofs are '
    'slices, not rebuilds.';

create or replace function ledger.tree_proof(
    tree text, leaf bytea, out idx bigint, out path bytea[]
) language plpgsql stable strict as $$
declare
    size bigint;
    lo bigint := 0;
    hi bigint;
    mid bigint;
    probe bytea;
    block bytea;
    first bigint;
    last bigint;
    count bigint;
    base bigint := 0;
    at bigint;
    offsets bigint[] := '{}';
begin
    select tree_size into size from ledger.batch_trees
        where batch_id = tree and leaf_index is not null;
    if size is null then
        return;
    end if;
    idx := -1;
    if octet_length(leaf) <> 32 then
        return;
    end if;
    -- the first entry of the leaf index not below the leaf. Leaf hashes are uniform, so
    -- it is near where the leaf's first four bytes put it: read the entries within twice
    -- the square root of the size of there in one slice and search them in memory; when
    -- the entry is outside them, a binary search on slices of the rest finds it.
    mid := (((get_byte(leaf, 0)::bigint << 24) | (get_byte(leaf, 1) << 16)
        | (get_byte(leaf, 2) << 8) | get_byte(leaf, 3)) * size) >> 32;
    at := greatest(32, 2 * ceil(sqrt(size)))::bigint;
    first := greatest(0, mid - at);
    last := least(size, mid + at);
    select substring(leaf_index from (first * 36 + 1)::int for ((last - first) * 36)::int)
        into block from ledger.batch_trees where batch_id = tree;
    if first > 0 and substring(block from 1 for 32) >= leaf then
        hi := first;
    elsif last < size
        and substring(block from ((last - first - 1) * 36 + 1)::int for 32) < leaf then
        lo := last;
        hi := size;
    else
        lo := first;
        hi := last;
        while lo < hi loop
            mid := (lo + hi) / 2;
            if substring(block from ((mid - first) * 36 + 1)::int for 32) < leaf then
                lo := mid + 1; else hi := mid; end if;
        end loop;
    end if;
    while lo < hi loop
        mid := (lo + hi) / 2;
        select substring(leaf_index from (mid * 36 + 1)::int for 32) into probe
            from ledger.batch_trees where batch_id = tree;
        if probe < leaf then lo := mid + 1; else hi := mid; end if;
    end loop;
    if lo >= first and lo < last then
        probe := substring(block from ((lo - first) * 36 + 1)::int for 36);
    else
        select substring(leaf_index from (lo * 36 + 1)::int for 36) into probe
            from ledger.batch_trees where batch_id = tree;
    end if;
    if octet_length(probe) is distinct from 36 or substring(probe from 1 for 32) <> leaf then
        return;
    end if;
    idx := (get_byte(probe, 32)::bigint << 24) | (get_byte(probe, 33) << 16)
        | (get_byte(probe, 34) << 8) | get_byte(probe, 35);
    -- the sibling on each level, levels packed leaves first (ledger.batches.level_sizes):
    -- their offsets first, then every hash in one query
    count := size;
    at := idx;
    while count > 1 loop
        if (at # 1) < count then
            offsets := offsets || (base + (at # 1));
        end if;
        base := base + count;
        count := (count + 1) / 2;
        at := at >> 1;
    end loop;
    select coalesce(array_agg(substring(t.levels from (o.at * 32 + 1)::int for 32)
                              order by o.n), '{}')
        into path
        from ledger.batch_trees t, unnest(offsets) with ordinality as o(at, n)
        where t.batch_id = tree;
end $$;
"""

__all__ = ["BATCH_TREES_DDL"]
