{#- The line that names an unmapped status code, as a SQL expression over a row of
    fct_unmapped_status_codes:
    unmapped status code: system=wms field=PICK.state code='partially_available'
    (1 event(s) in 1 order(s), e.g. order 1000007, first seen 2026-10-01T13:00:00Z,
    last seen 2026-10-01T13:00:00Z). fct_unmapped_status_codes stores it as `message`; the test
    that warns and the Dagster check read that column. -#}
{% macro unmapped_status_code_message() -%}
    format(
        'unmapped status code: system=%s field=%s code=%L (%s event(s) in %s order(s), e.g. order %s, first seen %s, last seen %s)',
        source_system,
        source_field,
        source_code,
        event_count,
        order_count,
        example_order_id,
        to_char(first_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        to_char(last_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    )
{%- endmacro %}
