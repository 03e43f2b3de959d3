{#- A window expression over the steps of one order: `value` of the first step, in
    `ordering`, among those meeting `condition` (null when none does). A window, not a
    group joined back: the per-order marts' literal order filter passes through it. -#}
{% macro first_where(value, condition, ordering) -%}
    first_value(case when {{ condition }} then {{ value }} end) over (
        partition by order_id
        order by coalesce({{ condition }}, false) desc, {{ ordering }}
    )
{%- endmacro %}
