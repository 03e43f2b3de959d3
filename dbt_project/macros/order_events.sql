{#- The shape of one status observation in int_order_events__unioned: its columns in order,
    written once for the four systems' selects and the union.

    Without `values`, the plain column list (to select observations already in that shape).
    With `values` ({column: SQL expression}), each column as the expression given, else
    its default: the raw record key for source_record_key, null text for what only the
    carrier tells (node_region, node_country, node_postal_code, event_message), else the
    column of the same name. -#}
{% macro order_event_observation(values=none) -%}
    {%- set columns = [
        'order_id', 'source_system', 'source_field', 'source_code', 'event_time',
        'node', 'node_type', 'node_region', 'node_country', 'node_postal_code', 'event_message',
        'source_record_key', 'content_hash', 'batch_id', 'extracted_at',
    ] -%}
    {%- set defaults = {
        'source_record_key': 'record_key',
        'node_region': 'cast(null as text)',
        'node_country': 'cast(null as text)',
        'node_postal_code': 'cast(null as text)',
        'event_message': 'cast(null as text)',
    } -%}
    {%- if values is none -%}
        {{ select_list(columns) }}
    {%- else -%}
        {%- for column in columns %}
        {{ values.get(column, defaults.get(column, column)) }} as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
