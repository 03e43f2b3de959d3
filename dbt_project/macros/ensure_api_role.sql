{#- on-run-start: the role PostgREST switches to for anonymous reads, and its usage
    of the api schema (each api view grants it select through the grants config).
    Roles are cluster-wide, so a concurrent creation by another database's run is
    tolerated. -#}
{% macro ensure_api_role(api_schema='api') -%}
    {%- set role = var('api_anon_role', 'web_anon') -%}
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = '{{ role }}') then
        create role {{ adapter.quote(role) }} nologin;
    end if;
exception
    when duplicate_object or unique_violation then null;
end
$$;
create schema if not exists {{ adapter.quote(api_schema) }};
grant usage on schema {{ adapter.quote(api_schema) }} to {{ adapter.quote(role) }}
{%- endmacro %}
