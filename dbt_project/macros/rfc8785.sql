{#- A row as the text of its RFC 8785 (JSON Canonicalization Scheme) object: the given
    columns as members, names sorted (ASCII names: UTF-16 order is byte order), no
    whitespace. Each value is PostgreSQL's to_json of the column: for text, booleans and
    integers - the types of the rows committed this way - the same characters RFC 8785
    writes (a string escapes '"', '\' and the control characters, \b \t \n \f \r short,
    the others as \u00xx). The audit hashes the same bytes in Python
    (ledger.bundle.tables.row_hash); tests/dbt_project compares them. -#}
{% macro rfc8785_object(columns, relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    '{' || concat_ws(','
    {%- for column in columns | sort %},
        '"{{ column }}":' || coalesce(to_json({{ prefix }}{{ column }})::text, 'null')
    {%- endfor %}
    ) || '}'
{%- endmacro %}


{#- The RFC 9162 Merkle tree hash over a relation's leaf hashes, as a recursive CTE named
    `name` with one row per level (`level`, `hashes`: the level's hashes in order): level
    0 is `leaves` (a relation with `leaf_index` and `leaf_hash`), each next level pairs the
    one below (SHA-256 of 0x01 || left || right) and carries an unpaired last hash up
    unchanged - RFC 9162's split at the largest power of two. Its last level holds the
    root; an empty relation gives no level (the root of an empty tree is SHA-256 of
    nothing). Needs `with recursive`. -#}
{% macro merkle_levels(name, leaves) -%}
{{ name }} (level, hashes) as (

    select
        0 as level,
        array_agg(leaf_hash order by leaf_index) as hashes

    from {{ leaves }}
    having count(*) > 0

    union all

    select
        {{ name }}.level + 1,
        array(
            select
                case
                    when 2 * pair + 2 <= cardinality({{ name }}.hashes)
                        then sha256(
                            '\x01'::bytea
                            || {{ name }}.hashes[2 * pair + 1]
                            || {{ name }}.hashes[2 * pair + 2]
                        )
                    else {{ name }}.hashes[2 * pair + 1]
                end
            from generate_series(0, (cardinality({{ name }}.hashes) + 1) / 2 - 1) as pair
            order by pair
        )

    from {{ name }}
    where cardinality({{ name }}.hashes) > 1

)
{%- endmacro %}
