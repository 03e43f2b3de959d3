{#- on-run-start: the API's roles (vars api_roles, api_tracker_role) and the authenticator
    PostgREST logs in as (var api_authenticator_role: noinherit, granted every api role and
    nothing else, so it can only switch; orderhub.api gives it its login and password).
    Every api role may use the api schema; what each reads is granted view by view
    (api_access). The tracker role, which the tracking lookup runs as, is no api role:
    nobody can switch to it; it may read the tracking key (api_private, orderhub.tracking)
    and own the lookup function. Functions created in the api schema are executable by
    nobody until granted. Roles are cluster-wide, so a concurrent creation or grant by
    another database's run is tolerated. -#}
{% macro ensure_api_roles(api_schema='api') -%}
    {%- set api_roles = var('api_roles') -%}
    {%- set tracker = var('api_tracker_role') -%}
    {%- set authenticator = var('api_authenticator_role') -%}
do $$
declare
    wanted text;
begin
    foreach wanted in array array[{{ text_literals(api_roles + [tracker, authenticator]) }}] loop
        begin
            if not exists (select from pg_catalog.pg_roles where rolname = wanted) then
                execute format('create role %I nologin noinherit', wanted);
            end if;
        exception
            when duplicate_object or unique_violation then null;
        end;
    end loop;
    foreach wanted in array array[{{ text_literals(api_roles) }}] loop
        if not exists (
            select from pg_catalog.pg_auth_members as m
            where m.roleid = (select oid from pg_catalog.pg_roles where rolname = wanted)
                and m.member = (select oid from pg_catalog.pg_roles where rolname = {{ text_literal(authenticator) }})
        ) then
            begin
                execute format('grant %I to %I', wanted, {{ text_literal(authenticator) }});
            exception
                when duplicate_object or unique_violation or internal_error then null;
            end;
        end if;
    end loop;
    -- whoever builds must be able to hand the lookup function to the tracker role
    if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user)
        and not pg_catalog.pg_has_role(current_user, {{ text_literal(tracker) }}, 'member') then
        execute format('grant %I to %I', {{ text_literal(tracker) }}, current_user);
    end if;
end
$$;
create schema if not exists {{ adapter.quote(api_schema) }};
grant usage on schema {{ adapter.quote(api_schema) }} to {{ quoted_roles(api_roles + [tracker]) }};
grant create on schema {{ adapter.quote(api_schema) }} to {{ adapter.quote(tracker) }};
alter default privileges in schema {{ adapter.quote(api_schema) }}
    revoke execute on functions from public;
-- the tracking key (orderhub.tracking creates it before a run of orderhub's; a build
-- without it, such as a bare dbt build of the demand marts, grants nothing here)
do $$
begin
    if pg_catalog.to_regclass('api_private.tracking_keys') is not null then
        execute format('grant usage on schema api_private to %I', {{ text_literal(tracker) }});
        execute format('grant select on api_private.tracking_keys to %I', {{ text_literal(tracker) }});
        execute format(
            'grant execute on function api_private.hmac_sha256(bytea, bytea),'
            ' api_private.tracking_token(text) to %I', {{ text_literal(tracker) }});
    end if;
end
$$
{%- endmacro %}


{#- Role names as a comma-separated list of quoted identifiers (for grant ... to). -#}
{% macro quoted_roles(roles) -%}
    {%- for role in roles %}{{ adapter.quote(role) }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}
