{#- A timestamptz as ISO 8601 UTC text with microseconds ("2026-10-03T14:05:09.000000Z"),
    independent of the session time zone: the form hashed into stable ids. -#}
{% macro iso_utc(column) -%}
    to_char({{ column }} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
{%- endmacro %}
