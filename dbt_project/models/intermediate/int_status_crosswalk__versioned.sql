-- The crosswalk with its version: the RFC 9162 Merkle root over its rows in key order
-- (source_system, source_field, source_code; C collation), each row's leaf the SHA-256 of
-- 0x00 and the SHA-256 of its RFC 8785 object (macro rfc8785_object). An audit bundle
-- proves the rows it used against this root (docs/audit-bundle.md);
-- orderhub.crosswalk.crosswalk_version recomputes it from the CSV (tests/dbt_project
-- compares). Each code carries the key events are matched on (macro status_code_key).
with recursive

crosswalk as (

    select * from {{ ref('status_crosswalk') }}

),

status_fields as (

    select * from {{ ref('status_fields') }}

),

serialized as (

    select
        source_system,
        source_field,
        source_code,
        {{ rfc8785_object(['source_system', 'source_field', 'source_code']
            + crosswalk_attribute_names() + ['notes']) }} as row_json

    from crosswalk

),

leaves as (

    select
        row_number() over (
            order by
                source_system collate "C",
                source_field collate "C",
                source_code collate "C"
        ) - 1 as leaf_index,
        sha256('\x00'::bytea || sha256(convert_to(row_json, 'UTF8'))) as leaf_hash

    from serialized

),

{{ merkle_levels('levels', 'leaves') }},

versioned as (

    select
        encode(
            coalesce(
                (select hashes[1] from levels order by level desc limit 1),
                sha256(''::bytea)
            ),
            'hex'
        ) as crosswalk_version

),

final as (

    select
        crosswalk.source_system,
        crosswalk.source_field,
        crosswalk.source_code,
        {{ crosswalk_attributes('crosswalk') }},
        crosswalk.notes,
        {{ status_code_key('crosswalk.source_code', 'status_fields') }} as code_key,
        versioned.crosswalk_version

    from crosswalk
    cross join versioned
    left join status_fields
        on crosswalk.source_system = status_fields.source_system
        and crosswalk.source_field = status_fields.source_field

)

select * from final
