{#- Data tests on a view or ephemeral model read only through one incremental mart check,
    in a `dbt build`, the orders or source records that mart rebuilds in this build
    (dbt_project/README.md, "Tests on the rows a build wrote").

    The model names the mart in its meta, tests_narrowed_by (declared, not derived: the
    rule models of fct_order_exceptions through dbt_project.yml, the event views of
    fct_order_status_events in their ymls), and, when its columns are not the mart's
    defaults, tests_narrowed_on: the order id column for a per-order mart (order_id), the
    (system, record key) column pairs for a per-source-record one (source_system,
    source_record_key). A test of such a model reads the rows of those orders or records
    only: the mart's own condition (rebuilt_orders_condition, source_records_condition in
    macros/incremental.sql) on the mart's state, computed from the test's context. It reads
    every row when the mart rebuilds all (full refresh, new table, changed SQL or seeds) and
    when the test has not passed in every build of the mart that wrote rows: its mark in
    orderhub_meta.tested_rows (macros/tested_rows.sql) is missing or older than the mart's
    latest built_at (a new or changed test, a build that selected the mart without it, rows
    the live path wrote). -#}


{#- The mart that narrows the tests of ``node`` (a view or ephemeral model whose meta says
    tests_narrowed_by), or none. A declaration that does not hold fails the compile: the
    mart must be an incremental per-order or per-source-record mart, and every model that
    reads ``node`` must be that mart or narrowed by it too (a view read by it). -#}
{% macro narrowing_mart(node) -%}
    {%- set name = node.config.meta.get('tests_narrowed_by') -%}
    {%- if not name or node.config.materialized not in ('view', 'ephemeral') -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set mart = graph.nodes.get('model.' ~ node.package_name ~ '.' ~ name) -%}
    {%- if mart is none or mart.config.materialized != 'incremental'
        or not (mart.config.meta.get('per_order') or mart.config.meta.get('per_source_record')) -%}
        {%- do exceptions.raise_compiler_error(node.name ~ ': tests_narrowed_by ' ~ name
            ~ ' is not an incremental per-order or per-source-record mart') -%}
    {%- endif -%}
    {%- for reader in graph.nodes.values()
        if reader.resource_type == 'model' and node.unique_id in reader.depends_on.nodes
            and reader.unique_id != mart.unique_id
            and reader.config.meta.get('tests_narrowed_by') != name -%}
        {%- do exceptions.raise_compiler_error(node.name ~ ': tests_narrowed_by ' ~ name
            ~ ', but ' ~ reader.name ~ ' reads it too') -%}
    {%- endfor -%}
    {%- do return(mart) -%}
{%- endmacro %}


{#- SQL condition: the rows of ``tested`` (the model the test ``test_id`` reads) that
    ``mart`` rebuilds in this build, or none when the test must read every row. -#}
{% macro rebuilt_rows(mart, tested, test_id) -%}
    {%- set state = incremental_state(mart) -%}
    {%- if state.mode != 'incremental' or not passed_since_built(mart, test_id, state.watermark) -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set meta = tested.config.meta -%}
    {%- if mart.config.meta.get('per_order') -%}
        {%- do return(rebuilt_orders_condition(
            state, meta.get('tests_narrowed_on', 'order_id'), mart=mart)) -%}
    {%- endif -%}
    {%- set keys = meta.get('tests_narrowed_on', [['source_system', 'source_record_key']]) -%}
    {%- do return(source_records_condition(state, keys, mart=mart)) -%}
{%- endmacro %}


{#- Whether the test ``test_id`` passed in a build at or after ``watermark``, the latest
    built_at of ``mart``: its mark (on the mart's table) is not older. -#}
{% macro passed_since_built(mart, test_id, watermark) -%}
    {%- set found = run_query(
        "select coalesce(bool_or(marks.tested_through >= cast(" ~ text_literal(watermark)
        ~ " as timestamptz)), false) from orderhub_meta.tested_rows as marks"
        ~ " where marks.schema_name = " ~ text_literal(mart.schema)
        ~ " and marks.table_name = " ~ text_literal(mart.alias)
        ~ " and marks.test_id = " ~ text_literal(test_id)
    ) -%}
    {%- do return(found.rows[0][0]) -%}
{%- endmacro %}
