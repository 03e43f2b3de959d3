{#- Fails with one row per combination of the columns that occurs more than once
    (like dbt_utils.unique_combination_of_columns, without the package). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns_csv = combination_of_columns | join(', ') %}

with

counted as (

    select
        {{ columns_csv }},
        count(*) as n_records

    from {{ model }}
    group by {{ columns_csv }}

)

select * from counted
where n_records > 1

{% endtest %}
