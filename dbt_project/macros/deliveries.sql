{#- The delivery method an order's promise and lanes are looked up by: the one order
    management sent, or `default` while none is known (seeds/delivery_promises). -#}
{% macro delivery_method_of(relation) -%}
    coalesce({{ relation }}.delivery_method, 'default')
{%- endmacro %}


{#- Hours as an interval (the lanes' medians are hours). -#}
{% macro hours(value) -%}
    make_interval(secs => ({{ value }}) * 3600)
{%- endmacro %}
