{#- Fails while the sources send a status code the crosswalk does not know. Each
    such code is logged ("unmapped status code: system=… field=… code='…' (…)")
    before the failure, and the failing rows carry the same text in `message`.
    Fix: add the code to seeds/status_crosswalk.csv. -#}
{{ config(severity='error') }}

{%- set unmapped = ref('unmapped_status_codes') %}

{%- if execute and adapter.get_relation(unmapped.database, unmapped.schema, unmapped.identifier) %}
    {%- set found = run_query(
        "select " ~ unmapped_status_code_message() ~ " from " ~ unmapped
        ~ " order by source_system, source_field, source_code"
    ) %}
    {%- for row in found.rows %}
        {{- log(row[0], info=true) }}
    {%- endfor %}
{%- endif %}

select
    {{ unmapped_status_code_message() }} as message,
    source_system,
    source_field,
    source_code,
    event_count,
    example_order_id

from {{ unmapped }}
