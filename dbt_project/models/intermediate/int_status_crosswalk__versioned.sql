-- The crosswalk with its version: the hex SHA-256 of its rows in key order
-- (C collation), each row the jsonb text of an array of its ten columns, rows
-- joined by a newline. orderhub.crosswalk.crosswalk_version recomputes it from the
-- CSV (json.dumps([...], ensure_ascii=False) per row; tests/dbt_project compares). Each
-- code carries the key events are matched on (macro status_code_key).
with

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
        jsonb_build_array(
            source_system,
            source_field,
            source_code,
            {{ crosswalk_attributes() }},
            notes
        )::text as row_text

    from crosswalk

),

versioned as (

    select
        encode(
            sha256(convert_to(
                string_agg(
                    row_text,
                    E'\n'
                    order by
                        source_system collate "C",
                        source_field collate "C",
                        source_code collate "C"
                ),
                'UTF8'
            )),
            'hex'
        ) as crosswalk_version

    from serialized

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
