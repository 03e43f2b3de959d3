{#- A window expression over the steps of one order: `value` of the first step, in
    `ordering`, among those meeting `condition` (null when none does). A window, not a
    group joined back: the per-order marts' literal order filter passes through it.
    An aggregate over the whole partition in `ordering` (its first element), not
    first_value over an ordering led by the condition: every call with the same `ordering`
    shares one window, so PostgreSQL sorts an order's steps once for all of them, not once
    per condition. -#}
{% macro first_where(value, condition, ordering) -%}
    (array_agg({{ value }}) filter (where {{ condition }}) over (
        partition by order_id
        order by {{ ordering }}
        rows between unbounded preceding and unbounded following
    ))[1]
{%- endmacro %}
