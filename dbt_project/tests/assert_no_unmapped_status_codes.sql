{#- Warns while the sources send a status code the crosswalk does not know. Each
    such code is logged ("unmapped status code: system=… field=… code='…' (…)"),
    and the failing rows carry the same text in `message`. Severity warn on purpose:
    an unknown code is kept and flagged, never dropped or guessed, and must not stop
    the api views from publishing everything else; Dagster shows the warning as a
    failed check on fct_unmapped_status_codes, next to the check
    unmapped_status_codes_are_mapped that names the codes (README, "Unknown codes").
    Fix: add the code to seeds/status_crosswalk.csv. -#}
{{ config(severity='warn') }}

{%- set unmapped = ref('fct_unmapped_status_codes') %}

{%- if execute and adapter.get_relation(unmapped.database, unmapped.schema, unmapped.identifier) %}
    {%- set found = run_query(
        "select message from " ~ unmapped ~ " order by source_system, source_field, source_code"
    ) %}
    {%- for row in found.rows %}
        {{- log(row[0], info=true) }}
    {%- endfor %}
{%- endif %}

select
    message,
    source_system,
    source_field,
    source_code,
    event_count,
    example_order_id

from {{ unmapped }}
