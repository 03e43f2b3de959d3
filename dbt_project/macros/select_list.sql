{#- Column names as a select list, one a line, comma-separated without a trailing comma,
    each qualified by `relation` when one is given: how a named list of columns (the
    crosswalk attributes, the raw provenance, an api view's columns) is written into SQL. -#}
{% macro select_list(names, relation=none) -%}
    {%- for name in names %}
        {% if relation %}{{ relation }}.{% endif %}{{ name }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}
