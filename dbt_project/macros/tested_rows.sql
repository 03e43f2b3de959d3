{#- Data tests on a mart that keeps its rows across builds check the rows built since that
    test last passed in a build (dbt_project/README.md, "Tests on the rows a build wrote").

    An incremental mart with built_at on every row rebuilds only the orders and records a
    run touched; the rows it did not touch were read by the last build in which the same
    test passed. So a generic test of severity error on one such mart alone (not a test
    that reads two models, as relationships does: its other side can change under rows
    that did not) reads only the rows with built_at after its own mark
    (orderhub_meta.tested_rows, per schema, table and test: each colour of the marts has
    its own, and a test that is new or changed - another unique_id - has none yet, so it
    reads every row). On-run-end moves the mark of every such test that passed in this
    `dbt build`, on a mart the build built, to the build's stamp. A failed or skipped test
    keeps its mark: the next build reads those rows again, rebuilt or not. Warn tests read
    every row (a warning stays visible while the data is wrong); so do `dbt test` (every
    test run on its own), every test with var test_all_rows true, and a test on anything
    else (marts rebuilt in full each run, views) - but a view or ephemeral model read only
    through one such mart (meta tests_narrowed_by): its tests read the orders or records
    that mart rebuilds in this build, and keep their marks on its table
    (macros/rebuilt_rows.sql). -#}


{#- on-run-start: the table of marks. -#}
{% macro ensure_tested_rows() -%}
do $$
begin
    create schema if not exists orderhub_meta;
    create table if not exists orderhub_meta.tested_rows (
        schema_name text not null,
        table_name text not null,
        test_id text not null,
        tested_through timestamptz not null,
        primary key (schema_name, table_name, test_id)
    );
exception
    when duplicate_table or duplicate_schema or unique_violation then null;
end
$$
{%- endmacro %}


{#- Overrides dbt's: the relation a generic test reads (``model``), narrowed by the test's
    where config and, on a mart that keeps its rows, to the rows this test has not read in a
    passing build; on a model read through one such mart, to the rows it rebuilds now. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set mart = narrowed_mart(model, config.get('severity')) -%}
    {%- if mart is not none and mart.unique_id == model.attached_node -%}
        {%- do conditions.append(untested_rows(relation, model.unique_id)) -%}
    {%- elif mart is not none -%}
        {%- set rebuilt = rebuilt_rows(mart, graph.nodes[model.attached_node], model.unique_id) -%}
        {%- if rebuilt is not none -%}
            {%- do conditions.append('(' ~ rebuilt ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ')
            ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- The mart a test of ``severity`` is narrowed by, or none: only in a `dbt build` without
    test_all_rows, only an error test, only one that reads nothing but the model it is
    attached to (no seed, source or other model, as a relationships test does), and that
    model keeps its rows between builds (incremental, with a built_at column documented:
    the mart itself) or is read only through such a mart (its tests_narrowed_by,
    narrowing_mart()). The one rule for the test's read and for moving its mark. -#}
{% macro narrowed_mart(test, severity) -%}
    {%- if not execute or flags.WHICH != 'build' or var('test_all_rows', false)
        or (severity or 'error') | lower != 'error'
        or test.config.meta.get('reads_every_row') -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set reads = test.depends_on.nodes | list -%}
    {%- if reads | length != 1 or reads[0] != test.attached_node -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set node = graph.nodes.get(reads[0]) -%}
    {%- if node and node.config.materialized == 'incremental' and 'built_at' in node.columns -%}
        {%- do return(node) -%}
    {%- endif -%}
    {%- do return(narrowing_mart(node) if node else none) -%}
{%- endmacro %}


{#- SQL condition: the rows of ``relation`` built after the mark of the test ``test_id``
    (every row while it has none). -#}
{% macro untested_rows(relation, test_id) -%}
    built_at > coalesce((
        select marks.tested_through from orderhub_meta.tested_rows as marks
        where marks.schema_name = {{ text_literal(relation.schema) }}
            and marks.table_name = {{ text_literal(relation.identifier) }}
            and marks.test_id = {{ text_literal(test_id) }}
    ), '-infinity'::timestamptz)
{%- endmacro %}


{#- on-run-end of a `dbt build`: the mark of every narrowed error test that passed, on a
    mart this run built (the test's model, or the mart that narrows it), moves to this
    build's stamp. -#}
{% macro record_tested_rows(results) -%}
    {%- set built = [] -%}
    {%- for result in results
        if result.node.resource_type == 'model' and result.status == 'success' -%}
        {%- do built.append(result.node.unique_id) -%}
    {%- endfor -%}
    {%- set marks = [] -%}
    {%- for result in results if result.node.resource_type == 'test' and result.status == 'pass' -%}
        {%- set mart = narrowed_mart(result.node, result.node.config.severity) -%}
        {%- if mart is not none and mart.unique_id in built -%}
            {%- do marks.append('(' ~ text_literal(mart.schema) ~ ', ' ~ text_literal(mart.alias)
                ~ ', ' ~ text_literal(result.node.unique_id) ~ ', ' ~ build_stamp() ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if marks %}
insert into orderhub_meta.tested_rows as marks (schema_name, table_name, test_id, tested_through)
values {{ marks | join(', ') }}
on conflict (schema_name, table_name, test_id) do update set tested_through = excluded.tested_through
    {%- endif -%}
{%- endmacro %}
