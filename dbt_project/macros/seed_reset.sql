{#- A seed's table is emptied and filled again when it already has the CSV's columns (names
    and types, in order), and dropped and created only when they changed. dbt recreates a
    seed on a full refresh (the project sets +full_refresh on seeds, so a changed CSV never
    fails on an old table), and its drop cascades to every view reading the seed: the views
    over the marts of the colour not being built (dbt_project.yml, steps) would vanish with
    each build of the other colour, under the hot path that reads them. -#}
{% macro postgres__reset_csv_table(model, full_refresh, old_relation, agate_table) %}
    {%- if full_refresh and seed_columns_unchanged(model, old_relation, agate_table) -%}
        {%- do adapter.truncate_relation(old_relation) -%}
        {{ return("truncate table " ~ old_relation.render()) }}
    {%- endif -%}
    {{ return(dbt.default__reset_csv_table(model, full_refresh, old_relation, agate_table)) }}
{% endmacro %}


{#- Whether ``old_relation`` has the columns create_csv_table would give it: each CSV
    column's name and type (its column_types override, else the type inferred), in order.
    Types are compared without modifiers (numeric(10,2) is numeric(12,4) here: the seeds
    declare none), and the refill leaves indexes as they are (no seed declares any). -#}
{% macro seed_columns_unchanged(model, old_relation, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set wanted = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
        {%- do wanted.append(text_literal(col_name | string) ~ " || ' ' || format_type(to_regtype("
            ~ text_literal(type) ~ "), null)") -%}
    {%- endfor -%}
    {%- set query -%}
        select coalesce(array_agg(attname::text || ' ' || format_type(atttypid, null)
            order by attnum), '{}') = array[{{ wanted | join(', ') }}]::text[]
        from pg_catalog.pg_attribute
        where attrelid = {{ text_literal(old_relation.render()) }}::regclass
            and attnum > 0 and not attisdropped
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}
