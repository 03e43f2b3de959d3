{#- Incremental strategy `replace`, for a mart rebuilt in full each run: every row of the
    existing table is deleted and the new ones inserted, in the run's one transaction.
    The table is never dropped, so the api views on it stay (dbt's table materialization
    drops the old table with cascade, and a view the run does not re-create - the api views,
    skipped when a blocking check fails - would be gone); readers see the old rows until
    the run commits. --full-refresh still rebuilds the table and drops the old one. -#}
{% macro get_incremental_replace_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
