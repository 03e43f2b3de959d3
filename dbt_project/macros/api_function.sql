{#- Materialization api_function: a function of the api schema that PostgREST serves as
    /rpc/<name>. The model's SQL is the function's signature and body after its name -
    `(argument type, ...) returns ... language ... as $$ ... $$` - and the function is
    (re)created as <api schema>.<model alias> in one transaction: dropped with its old
    signature, created, commented with the model's description (PostgREST's OpenAPI
    document shows it), executable by the roles its meta.access names and nobody else.
    With config owner, it is handed to that role (a security definer function runs as
    it), which is granted select on every relation the model refs. -#}
{% materialization api_function, adapter='postgres' %}
    {%- set access = api_access_of(model) -%}
    {%- set owner = config.get('owner') -%}
    {%- set name = adapter.quote(this.schema) ~ '.' ~ adapter.quote(this.identifier) -%}
    {{ run_hooks(pre_hooks) }}
    {% call statement('main') -%}
        do $$
        declare
            found record;
        begin
            for found in
                select p.oid::regprocedure as signature
                from pg_catalog.pg_proc as p
                where p.pronamespace = {{ text_literal(this.schema) }}::regnamespace
                    and p.proname = {{ text_literal(this.identifier) }}
            loop
                execute format('drop function %s', found.signature);
            end loop;
        end
        $$;
        create function {{ name }}
        {{ sql }};
        comment on function {{ name }} is {{ text_literal(model.description) }};
        revoke all on function {{ name }} from public;
        {%- if access.roles %}
        grant execute on function {{ name }} to {{ quoted_roles(access.roles) }};
        {%- endif %}
        {%- if owner %}
            {%- for unique_id in model.depends_on.nodes -%}
                {%- set read = api_node_relation(unique_id=unique_id) %}
        grant usage on schema {{ adapter.quote(read.schema) }} to {{ adapter.quote(owner) }};
        grant select on {{ read }} to {{ adapter.quote(owner) }};
            {%- endfor %}
        alter function {{ name }} owner to {{ adapter.quote(owner) }};
        {%- endif %}
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {{ adapter.commit() }}
    {{ return({'relations': []}) }}
{% endmaterialization %}
