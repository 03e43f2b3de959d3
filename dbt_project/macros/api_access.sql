{#- Who reads what in the api schema, and which rows (README, "The API").

    Each api model declares its access in its yml, config.meta.access:
      roles   the api roles (var api_roles) that read it;
      rows    which rows a row-restricted role (var api_row_claims) sees:
                order     its orders: a customer's own (claim customer_id), a partner's
                          the orders with a shipment routed to it (claim partner_id: the
                          shipment's carrier or its warehouse's operator);
                shipment  as order, but a partner sees only the rows of its shipments;
                all       every row (no restricted role may read it);
      hidden  per role, columns it may not select (column privileges).

    The api views are security_invoker views (api_access, their post-hook), so the reading
    role's own rights and row security apply to the table behind each view: that table gets
    row-level security with one policy per restricted role (api_customer, api_partner) and
    one for every other reader (api_all_rows, true), plus select for the readers and the
    tracker role (the tracking lookup runs as it). secure_for_api_node applies all that to
    one table, from the access of every api view reading it, in one transaction;
    secure_api_tables (on-run-end) to every table an api view reads, after every run, so a
    table a run recreated (--full-refresh) is secured again before the run ends - until
    then it grants nothing, so it fails closed - and the policies, which read other marts,
    are only created once all exist. A write-audit-publish build calls secure_for_api_node
    for each copy of a table it publishes. -#}


{#- A JWT claim of the request, as PostgREST 12 sets them (request.jwt.claims), read once
    per statement (an initplan). -#}
{% macro api_claim(name) -%}
    (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> {{ text_literal(name) }})
{%- endmacro %}


{#- The access an api model declares (meta.access), checked. -#}
{% macro api_access_of(node) %}
    {%- set declared = node.config.meta.get('access', {}) -%}
    {%- set access = {
        'roles': declared.get('roles', []),
        'rows': declared.get('rows', 'all'),
        'hidden': declared.get('hidden', {}),
    } -%}
    {%- set restricted = var('api_row_claims').keys() | list -%}
    {%- set unknown = access.roles | reject('in', var('api_roles')) | list -%}
    {%- if unknown or access.rows not in ('order', 'shipment', 'all') -%}
        {{ exceptions.raise_compiler_error(
            node.name ~ ": meta.access names unknown roles " ~ unknown
            ~ " or rows " ~ access.rows ~ " (order, shipment or all)") }}
    {%- endif -%}
    {%- if node.config.materialized == 'view' and access.rows == 'all'
        and access.roles | select('in', restricted) | list -%}
        {{ exceptions.raise_compiler_error(
            node.name ~ ": rows all, but restricted roles " ~ restricted ~ " read it") }}
    {%- endif -%}
    {{ return(access) }}
{% endmacro %}


{#- The relation of a graph node (a model, seed or source) by unique id, or of a model by
    name; none when there is no such node. -#}
{% macro api_node_relation(unique_id=none, model_name=none) %}
    {%- for node in graph.nodes.values() | list + graph.sources.values() | list -%}
        {%- if node.unique_id == unique_id or (node.resource_type == 'model' and node.name == model_name) -%}
            {{ return(api.Relation.create(
                database=node.database, schema=node.schema,
                identifier=node.identifier if node.resource_type == 'source' else node.alias)) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}


{#- The api views (models/api, materialized view: each reads one relation) that read the
    node `unique_id`. -#}
{% macro api_readers(unique_id) %}
    {%- set readers = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.original_file_path.startswith('models/api/')
            and node.config.materialized == 'view' and unique_id in node.depends_on.nodes -%}
            {%- do readers.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(readers) }}
{% endmacro %}


{#- The policy condition under which the restricted `role` sees a row of `relation`.
    Each `exists` ends in `offset 0`: without it PostgreSQL may turn the correlated lookup
    into one hashed subplan that reads every row the claim owns (all of a carrier's
    shipments, for a page of 50 orders: 85 ms at 100,000 orders, bench/RESULTS.md); with
    it, each row read is one index probe of the order's own shipments or order. -#}
{% macro api_row_predicate(rows, role, relation) -%}
    {%- set claim = api_claim(var('api_row_claims')[role]) -%}
    {%- set orders = api_node_relation(model_name='fct_order_current_status') -%}
    {%- set shipments = api_node_relation(model_name='fct_shipment_current_status') -%}
    {%- set row = adapter.quote(relation.identifier) -%}
    {%- if role == 'customer' and relation.render() == orders.render() -%}
        customer_id = {{ claim }}
    {%- elif role == 'customer' -%}
        exists (
            select from {{ orders }} as owned
            where owned.order_id = {{ row }}.order_id
                and owned.customer_id = {{ claim }}
            offset 0
        )
    {%- elif role == 'partner' and relation.render() == shipments.render() -%}
        {{ claim }} in (partner_id, warehouse_operator)
    {%- elif role == 'partner' -%}
        exists (
            select from {{ shipments }} as routed
            where routed.order_id = {{ row }}.order_id
                {%- if rows == 'shipment' %}
                and routed.shipment_id = {{ row }}.shipment_id
                {%- endif %}
                and {{ claim }} in (routed.partner_id, routed.warehouse_operator)
            offset 0
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error("no row rule for the restricted role " ~ role) }}
    {%- endif -%}
{%- endmacro %}


{#- Grants and row security on the table `relation` (node `unique_id`) for every api model
    that reads it; nothing when none does. -#}
{% macro secure_for_api_node(unique_id, relation) -%}
    {%- set readers = api_readers(unique_id) -%}
    {%- if readers -%}
        {%- set roles = [] -%}
        {%- set kinds = [] -%}
        {%- for reader in readers -%}
            {%- set access = api_access_of(reader) -%}
            {%- do roles.extend(access.roles | reject('in', roles)) -%}
            {%- do kinds.append(access.rows) if access.rows not in kinds -%}
        {%- endfor -%}
        {%- if kinds | length > 1 -%}
            {{ exceptions.raise_compiler_error(
                relation ~ " is read by api views with different rows " ~ kinds) }}
        {%- endif -%}
        {%- set tracker = var('api_tracker_role') -%}
        {%- set restricted = var('api_row_claims').keys() | list -%}
        {%- set everything = roles | reject('in', restricted) | list + [tracker] %}
{#- the table's lock first: the grants below update its pg_class row, and an autovacuum
    of the table (a run has just rewritten it) that then records its statistics waits for
    this transaction, while the policies' alter table waited for the autovacuum - a
    deadlock. Locked first, the autovacuum is cancelled or done before that row is touched. #}
lock table {{ relation }} in access exclusive mode;
grant usage on schema {{ adapter.quote(relation.schema) }} to {{ quoted_roles(roles + [tracker]) }};
revoke all on {{ relation }} from {{ quoted_roles(var('api_roles') + [tracker]) }};
grant select on {{ relation }} to {{ quoted_roles(roles + [tracker]) }};
        {%- if kinds[0] != 'all' %}
alter table {{ relation }} enable row level security;
do $$
declare
    found record;
begin
    for found in
        select policyname from pg_catalog.pg_policies
        where schemaname = {{ text_literal(relation.schema) }}
            and tablename = {{ text_literal(relation.identifier) }}
            and policyname like 'api\_%'
    loop
        execute format('drop policy %I on {{ relation }}', found.policyname);
    end loop;
end
$$;
            {%- for role in roles if role in restricted %}
create policy {{ adapter.quote('api_' ~ role) }} on {{ relation }} for select to {{ adapter.quote(role) }}
    using ({{ api_row_predicate(kinds[0], role, relation) }});
            {%- endfor %}
create policy api_all_rows on {{ relation }} for select to {{ quoted_roles(everything) }} using (true);
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{#- on-run-end: every table an api view reads, secured (when it exists). A table whose
    rows are restricted is secured only once the marts its policies read exist (a partial
    build, e.g. of the demand marts alone, leaves it unsecured: it grants nothing). -#}
{% macro secure_api_tables() -%}
    {%- if execute -%}
        {%- set policy_marts = [] -%}
        {%- for name in ['fct_order_current_status', 'fct_shipment_current_status'] -%}
            {%- set mart = api_node_relation(model_name=name) -%}
            {%- do policy_marts.append(mart) if adapter.get_relation(mart.database, mart.schema, mart.identifier) -%}
        {%- endfor -%}
        {%- set policies_possible = policy_marts | length == 2 -%}
        {%- set seen = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model'
            and node.original_file_path.startswith('models/api/')
            and node.config.materialized == 'view' -%}
            {%- for unique_id in node.depends_on.nodes if unique_id not in seen -%}
                {%- do seen.append(unique_id) -%}
                {%- set read = api_node_relation(unique_id=unique_id) -%}
                {%- set restricted_rows = [] -%}
                {%- for reader in api_readers(unique_id) if api_access_of(reader).rows != 'all' -%}
                    {%- do restricted_rows.append(reader.name) -%}
                {%- endfor -%}
                {%- if adapter.get_relation(read.database, read.schema, read.identifier)
                    and (policies_possible or not restricted_rows) %}
{{ secure_for_api_node(unique_id, read) }};
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- post-hook of every api view: security_invoker (the reader's rights and row security
    apply to the table behind it), and select for the roles its meta.access names (only
    the columns a role may see when some are hidden from it). -#}
{% macro api_access() -%}
    {%- if execute and model.config.materialized == 'view' -%}
        {%- set access = api_access_of(model) -%}
        {%- set columns = model.columns.keys() | list %}
alter view {{ this }} set (security_invoker = true);
        {%- for role in access.roles -%}
            {%- set hidden = access.hidden.get(role, []) -%}
            {%- if hidden | reject('in', columns) | list -%}
                {{ exceptions.raise_compiler_error(
                    model.name ~ ": hides columns it does not publish from " ~ role) }}
            {%- endif -%}
            {%- if hidden %}
grant select ({{ columns | reject('in', hidden) | map('string') | join(', ') }}) on {{ this }} to {{ adapter.quote(role) }};
            {%- else %}
grant select on {{ this }} to {{ adapter.quote(role) }};
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- on-run-start of a --full-refresh run: the api policies on the tables this run builds,
    dropped. A policy of one mart reads others (api_row_predicate), and a full refresh
    drops and recreates tables on several threads: dropping a table's old copy cascades to
    the policies of another mart being replaced beside it, and the two threads deadlock.
    Without policies there is nothing to cascade to; row security stays on, so a table
    shows a restricted role nothing until on-run-end (secure_api_tables) secures it again. -#}
{% macro drop_api_policies_for_full_refresh() -%}
    {%- if execute and flags.FULL_REFRESH -%}
        {%- set schemas = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- do schemas.append(node.schema) if node.schema not in schemas -%}
        {%- endfor %}
do $$
declare
    found record;
begin
    for found in
        select schemaname, tablename, policyname from pg_catalog.pg_policies
        where schemaname = any(array[{{ text_literals(schemas) }}]::text[])
            and policyname like 'api\_%'
    loop
        execute format(
            'drop policy %I on %I.%I', found.policyname, found.schemaname, found.tablename);
    end loop;
end
$$
    {%- endif -%}
{%- endmacro %}
