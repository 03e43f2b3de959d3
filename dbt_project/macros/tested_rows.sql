{#- Data tests on a mart that keeps its rows across builds check the rows built since the
    last build whose tests on it passed (README, "Tests on the rows a build wrote").

    An incremental mart (its meta declares its bookkeeping: built_at on every row) rebuilds
    only the orders and records a run touched; the rows it did not touch were tested by the
    build that wrote them. So a generic test of severity error on such a mart reads only
    the rows with built_at after its tested_through mark (orderhub_meta.tested_marts, per
    schema and table: each colour of the marts has its own); on-run-end moves the mark to
    this build's stamp for every such mart this `dbt build` built whose error tests all
    passed. A failed or skipped test leaves the mark: the next build tests those rows again
    (with whatever it rebuilt since). Warn tests read every row (a warning stays visible
    while the data is wrong); so do `dbt test` (every test run on its own), every test with
    var test_all_rows true, and a test on anything else (views, marts rebuilt in full each
    run). -#}


{#- on-run-start: the table of marks. -#}
{% macro ensure_tested_marts() -%}
do $$
begin
    create schema if not exists orderhub_meta;
    create table if not exists orderhub_meta.tested_marts (
        schema_name text not null,
        table_name text not null,
        tested_through timestamptz not null,
        primary key (schema_name, table_name)
    );
exception
    when duplicate_table or duplicate_schema or unique_violation then null;
end
$$
{%- endmacro %}


{#- Overrides dbt's: the relation a generic test reads (``model``), narrowed by the test's
    where config and, on a mart that keeps its rows, to the rows not yet tested. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if keeps_rows_between_builds(relation) -%}
        {%- do conditions.append(untested_rows(relation)) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ')
            ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- Whether this test (in a `dbt build`, of severity error, test_all_rows off) reads
    ``relation`` as a mart that keeps its rows between builds (one of the test's
    dependencies, by alias, whose meta declares the incremental bookkeeping). -#}
{% macro keeps_rows_between_builds(relation) -%}
    {%- if not execute or flags.WHICH != 'build' or var('test_all_rows', false) -%}
        {%- do return(false) -%}
    {%- endif -%}
    {%- if (config.get('severity') or 'error') | lower != 'error' -%}
        {%- do return(false) -%}
    {%- endif -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.resource_type == 'model' and node.alias == relation.identifier
            and node.config.meta.get('fingerprint_seeds') is not none -%}
            {%- do return(true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(false) -%}
{%- endmacro %}


{#- SQL condition: the rows of ``relation`` built after its tested_through mark (every row
    while it has none). -#}
{% macro untested_rows(relation) -%}
    built_at > coalesce((
        select marks.tested_through from orderhub_meta.tested_marts as marks
        where marks.schema_name = {{ text_literal(relation.schema) }}
            and marks.table_name = {{ text_literal(relation.identifier) }}
    ), '-infinity'::timestamptz)
{%- endmacro %}


{#- on-run-end of a `dbt build`: the mark of every mart that keeps its rows, built by this
    run, with at least one error test on it run and every such test passed, moves to this
    build's stamp. -#}
{% macro record_tested_marts(results) -%}
    {%- if not execute or flags.WHICH != 'build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set built = {} -%}
    {%- set passed = [] -%}
    {%- set failed = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- if node.resource_type == 'model' and result.status == 'success'
            and node.config.meta.get('fingerprint_seeds') is not none -%}
            {%- do built.update({node.unique_id: node}) -%}
        {%- elif node.resource_type == 'test'
            and (node.config.severity or 'error') | lower == 'error' -%}
            {%- for unique_id in node.depends_on.nodes -%}
                {%- do (passed if result.status == 'pass' else failed).append(unique_id) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set marks = [] -%}
    {%- for unique_id, node in built.items()
        if unique_id in passed and unique_id not in failed -%}
        {%- do marks.append('(' ~ text_literal(node.schema) ~ ', ' ~ text_literal(node.alias)
            ~ ', ' ~ build_stamp() ~ ')') -%}
    {%- endfor -%}
    {%- if marks %}
insert into orderhub_meta.tested_marts as marks (schema_name, table_name, tested_through)
values {{ marks | join(', ') }}
on conflict (schema_name, table_name) do update set tested_through = excluded.tested_through
    {%- endif -%}
{%- endmacro %}
