{#- Text as SQL string literals, quotes doubled: the one way a macro writes a value read
    at compile time (a record key, an order id, a rule's value) into SQL. -#}
{% macro text_literal(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}


{#- 'a', 'b', 'c' for a list of values (for in (...) and array[...]). -#}
{% macro text_literals(values) -%}
    {%- for value in values %}{{ text_literal(value) }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}
