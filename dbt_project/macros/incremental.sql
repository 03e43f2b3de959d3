{#- Incremental bookkeeping of the canonical marts (see README, "Incremental builds").

    Every incremental mart stores two columns:
      built_at        the run_started_at of the dbt invocation that (re)derived the row;
      inputs_version  md5 over the model's own SQL (with the ephemeral models and views it
                      reads through) and the seeds the row was derived with.
    A run is "full" when the table is new, lacks those columns, or was built by other SQL
    or with other seeds (a changed model, crosswalk, precedence, SLA or location re-derives
    history; a per-order mart downstream then rebuilds every order whose events or
    upstream per-order rows were re-derived); else it is "incremental" from a watermark,
    the latest built_at in the table.

    A model declares its bookkeeping once, as a dict it passes to config(meta=...) (a
    per-order mart through per_order_mart()):
      fingerprint_seeds  the seeds in its inputs_version;
      per_order          true for a per-order mart (order_id, built_at; the pre-hook
                         delete_orders_to_rebuild() and orders_to_rebuild());
      open_orders        true when every open order is rebuilt each run (SLA clock).
    The macros below read it from the model's config at run time (config.meta_get), in
    the pre-hook and in the model body alike. Only the inputs_version column takes the
    seed list as an argument: it also runs at parse time, where config is not readable
    yet and its ref() calls declare the seeds as dependencies.

    The macros that compute a run's state and the rows it rebuilds take an optional
    `mart`: a mart's node from the graph, when another node computes that mart's state -
    a data test on a model read only through the mart (macros/rebuilt_rows.sql). They
    then read the mart's meta, relation and dependencies from the graph instead of the
    model being compiled (config, this, model, ref(): a test may not ref() what it does
    not depend on). Without it they serve the model being compiled. -#}


{#- The config of a per-order incremental mart (materialized incremental, strategy append):
    its bookkeeping as meta (per_order set), the pre-hook that deletes the orders a run
    rebuilds, and its indexes plus the one on built_at the watermark reads. -#}
{% macro per_order_mart(bookkeeping, indexes) -%}
    {%- set meta = {'per_order': true} -%}
    {%- do meta.update(bookkeeping) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        meta=meta,
        pre_hook="{{ delete_orders_to_rebuild() }}",
        indexes=indexes + [{'columns': ['built_at']}],
    ) }}
{%- endmacro %}


{#- The mart's meta value `key` (the model being compiled's when `mart` is none); a key
    without a default must be there. -#}
{% macro bookkeeping_of(key, mart=none, default=none) %}
    {%- if mart is none -%}
        {{ return(config.meta_require(key) if default is none else config.meta_get(key, default)) }}
    {%- endif -%}
    {%- if key not in mart.config.meta and default is none -%}
        {%- do exceptions.raise_compiler_error(mart.name ~ ': meta ' ~ key ~ ' missing') -%}
    {%- endif -%}
    {{ return(mart.config.meta.get(key, default)) }}
{% endmacro %}


{#- The relation of the model or seed `name` as the mart reads it: ref() when compiling the
    mart itself (`mart` none), else the graph node's table. -#}
{% macro mart_ref(name, mart=none) %}
    {%- if mart is none -%}
        {{ return(ref(name)) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.name == name and node.resource_type in ('model', 'seed')
            and node.package_name == project_name -%}
        {{ return(api.Relation.create(
            database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {%- do exceptions.raise_compiler_error('no model or seed named ' ~ name) -%}
{% endmacro %}


{#- The mart's existing table when a run of it now would be incremental (dbt's
    is_incremental(): a table, no full refresh), else none. -#}
{% macro incremental_relation(mart=none) %}
    {%- if mart is none -%}
        {{ return(this if execute and this is not none and is_incremental() else none) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(mart.database, mart.schema, mart.alias) -%}
    {%- set full_refresh = mart.config.full_refresh -%}
    {%- if full_refresh is none -%}
        {%- set full_refresh = flags.FULL_REFRESH -%}
    {%- endif -%}
    {{ return(relation if relation is not none and relation.is_table and not full_refresh
        else none) }}
{% endmacro %}


{#- The model's SQL as written (before Jinja), followed by the SQL of the models it reads
    through: every ephemeral model and view it selects from, and theirs in turn, down to
    the tables and seeds. They are compiled into it or inlined into its query, so they are
    part of its own SQL. -#}
{% macro own_sql(mart=none) %}
    {%- set node = model if mart is none else mart -%}
    {%- set parts = [node.raw_code] -%}
    {#- (a unit test runs the model with no graph: fixtures stand for what it selects from) #}
    {%- if execute and graph.nodes is defined -%}
        {%- set seen = [] -%}
        {%- set pending = node.depends_on.nodes | sort | list -%}
        {#- a breadth-first walk; Jinja has no while, so a bounded for over the queue -#}
        {%- for _ in range(1000) if pending -%}
            {%- set unique_id = pending.pop(0) -%}
            {%- set node = graph.nodes.get(unique_id) -%}
            {%- if node and unique_id not in seen
                and node.config.materialized in ('ephemeral', 'view') -%}
                {%- do seen.append(unique_id) -%}
                {%- do parts.append(node.raw_code) -%}
                {%- do pending.extend(node.depends_on.nodes | sort) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(parts | join('\n')) }}
{% endmacro %}


{#- SQL expression: md5 over the model's own SQL (own_sql()) and the content of the named
    seeds (each seed's rows as text, sorted), so that a change to the model, to an ephemeral
    model compiled into it or to one of the seeds changes the fingerprint. A scalar
    subquery: PostgreSQL computes it once per statement, not once per row it writes. -#}
{% macro inputs_fingerprint(seed_names, mart=none) -%}
    (select md5(concat_ws('|', 'inputs', '{{ local_md5(own_sql(mart)) }}'
    {%- for name in seed_names %},
        (
            select md5(coalesce(string_agg(seed_row::text, E'\n' order by seed_row::text), ''))
            from {{ mart_ref(name, mart) }} as seed_row
        )
    {%- endfor %}
    )))
{%- endmacro %}


{#- The build stamp of this invocation, as a timestamptz literal (in the hot path, the
    time of the transaction that recomputes the rows). -#}
{% macro build_stamp() -%}
    {%- if var('hot_path', false) -%}
        now()
    {%- else -%}
        cast('{{ run_started_at.isoformat() }}' as timestamptz)
    {%- endif -%}
{%- endmacro %}


{#- The bookkeeping columns of an incremental mart's rows, as a select list: built_at and
    inputs_version (over the model's own SQL and `seed_names`). -#}
{% macro bookkeeping_columns(seed_names) -%}
    {{ build_stamp() }} as built_at,
        {{ inputs_fingerprint(seed_names) }} as inputs_version
{%- endmacro %}


{#- {'mode': 'full'} or {'mode': 'incremental', 'watermark': '<latest built_at>'}, or
    {'mode': 'hot_path'} when dbt compiles the per-order marts for the live service's hot
    path (var hot_path: orderhub/live/hot_path.py; README, "The hot path").
    Only the latest row is read (built_at is indexed): every row of a run carries the
    run's inputs_version, and a changed fingerprint always rewrites every row. -#}
{% macro incremental_state(mart=none) %}
    {%- if var('hot_path', false) -%}
        {{ return({'mode': 'hot_path'}) }}
    {%- endif -%}
    {%- set relation = incremental_relation(mart) if execute else none -%}
    {%- if relation is none -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {%- set seed_names = bookkeeping_of('fingerprint_seeds', mart) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- if 'built_at' not in columns or 'inputs_version' not in columns -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {%- set found = run_query(
        "select built_at::text, inputs_version = " ~ inputs_fingerprint(seed_names, mart)
        ~ " from " ~ relation ~ " order by built_at desc limit 1"
    ) -%}
    {%- if found.rows | length == 0 or found.rows[0][0] is none or not found.rows[0][1] -%}
        {{ return({'mode': 'full'}) }}
    {%- endif -%}
    {{ return({'mode': 'incremental', 'watermark': found.rows[0][0]}) }}
{% endmacro %}


{#- The per-order marts this model reads (direct dependencies whose meta says per_order):
    when one of them re-derives an order's rows - in full after its SQL or seeds
    changed - this model rebuilds that order too. -#}
{% macro upstream_per_order_marts(mart=none) %}
    {%- set names = [] -%}
    {%- for unique_id in (model if mart is none else mart).depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.config.meta.get('per_order') -%}
            {%- do names.append(node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{% endmacro %}


{#- SQL selecting the order ids a per-order mart rebuilds in an incremental run: orders
    with an event (re)derived after the watermark (fct_order_status_events re-derives
    every event of a source record that has a new version) and the orders such a record
    left (its previous_order_ids: they lost its events), orders with a row of an upstream
    per-order mart (re)derived after it, and, with meta open_orders, every order whose
    current status is not terminal (their SLA clock moved). -#}
{% macro orders_to_rebuild(state, mart=none) -%}
    select order_id
    from {{ mart_ref('fct_order_status_events', mart) }}
    where built_at > cast('{{ state.watermark }}' as timestamptz)
        and order_id is not null
    union
    select jsonb_array_elements_text(previous_order_ids)
    from {{ mart_ref('fct_order_status_events', mart) }}
    where built_at > cast('{{ state.watermark }}' as timestamptz)
    {%- for name in upstream_per_order_marts(mart) %}
    union
    select order_id
    from {{ mart_ref(name, mart) }}
    where built_at > cast('{{ state.watermark }}' as timestamptz)
    {%- endfor %}
    {%- if bookkeeping_of('open_orders', mart, false) %}
    union
    select order_id
    from {{ mart_ref('fct_order_current_status', mart) }}
    where not coalesce(is_terminal, false)
    {%- endif %}
{%- endmacro %}


{#- A SQL condition on order_id that keeps the orders a per-order mart (re)builds in this
    run: true in a full run; in an incremental run the ids of orders_to_rebuild(), read
    once at compile time and written as literals (false when there are none), which
    PostgreSQL pushes through views, ephemeral models and their windows and groups down to
    the marts' order_id indexes (a subquery would stop at the first group or window). In
    the hot path the same condition takes the orders as a bind parameter (an array: the
    same pushdown), so one compiled select serves every micro-batch. `column` is the
    column holding the order id (order_id unless a model says otherwise). -#}
{% macro rebuilt_orders_condition(state, column='order_id', mart=none) -%}
    {%- if state.mode == 'hot_path' -%}
        {{ column }} = any(cast({{ hot_path_parameter('orders') }} as text[]))
    {%- elif state.mode != 'incremental' -%}
        true
    {%- else -%}
        {%- set found = run_query(orders_to_rebuild(state, mart) ~ '\n    order by 1') -%}
        {%- set ids = found.columns[0].values() | reject('none') | list -%}
        {%- if ids -%}
            {{ column }} in ({{ text_literals(ids) }})
        {%- else -%}
            false
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- pre_hook of a per-order incremental mart (materialized incremental, strategy append):
    removes the rows the run is about to rebuild - every row in a full run on an existing
    table, the rebuilt orders' rows in an incremental run - so that an order whose
    rebuilt set is smaller (an exception resolved) keeps no stale row. The model computes
    the same state at compile time, before this hook runs, so both see one watermark;
    both read the seeds and open_orders from the model's meta. -#}
{% macro delete_orders_to_rebuild() -%}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set state = incremental_state() -%}
        {%- if state.mode == 'incremental' -%}
            delete from {{ this }}
            where order_id in ({{ orders_to_rebuild(state) }})
        {%- else -%}
            delete from {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- The source records fct_order_status_events re-derives in an incremental run: per
    system, the records with a version extracted after the latest extraction time already
    derived for that system. A system's extraction batches run one after the other (the
    connector keeps one cursor per stream), so a later batch has a later extracted_at
    (each system's latest, read backwards on the mart's index on source_system,
    source_extracted_at: the mart's build and each test of a view it reads ask).
    Returns {system: [record_key, ...]}; the keys become literal filters, which PostgreSQL
    pushes through the staging and intermediate views down to the raw tables. -#}
{% macro changed_source_records(mart=none) %}
    {%- set raw_tables = {
        'erp': source('erp', 'sales_orders'),
        'crm': source('crm', 'fulfillment_orders'),
        'wms': source('wms', 'pickings'),
        'tms': source('tms', 'trackers'),
    } -%}
    {%- set relation = incremental_relation(mart) -%}
    {%- set latest -%}
        {%- for system in raw_tables %}
        {% if not loop.first %}union all {% endif -%}
        select '{{ system }}', (
            select max(source_extracted_at)::text from {{ relation }}
            where source_system = '{{ system }}'
        )
        {%- endfor %}
    {%- endset -%}
    {%- set watermarks = {} -%}
    {%- for row in run_query(latest).rows if row[1] is not none -%}
        {%- do watermarks.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set changed = {} -%}
    {%- for system, relation in raw_tables.items() -%}
        {%- set query -%}
            select distinct record_key from {{ relation }}
            {%- if watermarks.get(system) %}
            where extracted_at > cast('{{ watermarks[system] }}' as timestamptz)
            {%- endif %}
            order by 1
        {%- endset -%}
        {%- do changed.update({system: run_query(query).columns[0].values() | list}) -%}
    {%- endfor -%}
    {{ return(changed) }}
{% endmacro %}


{#- A SQL condition keeping the source records a run of fct_order_status_events
    re-derives: in an incremental run those of changed_source_records(), as literals; in
    the hot path each system's record keys as a bind parameter (<system>_records, a text
    array). It is written once per pair of (system, record key) columns in `keys` (all of
    them must hold): int_order_events__mapped carries the event's keys and its record's, and
    PostgreSQL takes a filter on one side of that join down to that side only - on the
    record's keys it reaches the record-move detection (int_source_records__latest, its
    windows and groups by record) and the raw tables' record_key index, instead of that
    view reading every record of every system. -#}
{% macro source_records_condition(
    state, keys=[('source_system', 'source_record_key')], mart=none
) -%}
    {%- if state.mode == 'hot_path' -%}
        {%- set changed = {} -%}
        {%- for system in ['erp', 'crm', 'wms', 'tms'] -%}
            {%- do changed.update({system: hot_path_parameter(system ~ '_records')}) -%}
        {%- endfor -%}
    {%- else -%}
        {%- set changed = changed_source_records(mart) -%}
    {%- endif %}
    {%- for system_column, key_column in keys %}
    {% if not loop.first %}and {% endif -%}
    (
    {%- for system, records in changed.items() %}
        {% if not loop.first %}or {% endif -%}
        ({{ system_column }} = '{{ system }}' and
        {%- if records is string %} {{ key_column }} = any(cast({{ records }} as text[])))
        {%- elif records %} {{ key_column }} in ({{ text_literals(records) }}))
        {%- else %} false)
        {%- endif %}
    {%- endfor %}
    )
    {%- endfor %}
{%- endmacro %}


{#- A bind parameter of the hot path's compiled selects, %(name)s in psycopg's style (the
    hot path escapes every other percent sign of the compiled SQL). -#}
{% macro hot_path_parameter(name) -%}
    %({{ name }})s
{%- endmacro %}
