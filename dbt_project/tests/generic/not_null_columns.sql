{#- Fails with one row per listed column that holds nulls: the column's name and how many
    rows. One scan of the model for all its not-null columns, where dbt's not_null test
    scans it once per column (a staging view is evaluated again for each). A column is
    given by name, or as {name: ..., where: ...} to check only the rows the condition
    selects (what a not_null test's ``where`` config does). -#}
{% test not_null_columns(model, columns) %}

{%- set checks = [] -%}
{%- for column in columns -%}
    {%- if column is mapping -%}
        {%- do checks.append((column["name"], column.get("where"))) -%}
    {%- else -%}
        {%- do checks.append((column, none)) -%}
    {%- endif -%}
{%- endfor %}

with

counted as (

    select
    {%- for name, where in checks %}
        count(*) filter (
            where {{ name }} is null{% if where %} and ({{ where }}){% endif %}
        ) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}

    from {{ model }}

)

select found.column_name, found.null_rows
from counted
cross join lateral (
    values
    {%- for name, where in checks %}
        ('{{ name }}', counted.{{ name }}){{ "," if not loop.last }}
    {%- endfor %}
) as found (column_name, null_rows)
where found.null_rows > 0

{% endtest %}
