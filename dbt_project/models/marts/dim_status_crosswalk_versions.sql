{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='sync_all_columns',
    indexes=[
        {'columns': ['crosswalk_version', 'source_system', 'source_field', 'source_code'], 'unique': true},
    ],
) }}

-- Every version of the status crosswalk a build has used, row by row, kept forever
-- (append-only, and kept by --full-refresh too): an exception, a current status or a
-- provenance event that names an old crosswalk version stays explainable after the seed
-- changed and history was re-derived.
with

crosswalk as (

    select * from {{ ref('int_status_crosswalk__versioned') }}

),

final as (

    select
        crosswalk_version,
        source_system,
        source_field,
        source_code,
        {{ crosswalk_attributes() }},
        notes,
        {{ build_stamp() }} as first_built_at

    from crosswalk
    {%- if is_incremental() %}
    where crosswalk_version not in (select crosswalk_version from {{ this }})
    {%- endif %}

)

select * from final
