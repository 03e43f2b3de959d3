{#- The body of the ops role's case functions (/rpc/assign_case, /rpc/acknowledge_case,
    /rpc/resolve_case, /rpc/dismiss_case): one call of cases.act (orderhub/cases), which
    validates the action and raises with the SQLSTATE PostgREST answers with (PT404 ->
    404, PT409 -> 409, 22023 -> 400; message, detail and hint in the body). The actor is
    the token's subject (sub claim), else its role. Runs as the warehouse owner (security
    definer, search_path pinned). -#}
{% macro case_action_function(name, action, with_assignee=false) -%}
(case_id bigint, note text default null{% if with_assignee %}, assignee text default null{% endif %})
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    return cases.act({{ name }}.case_id, {{ text_literal(action) }},
        coalesce({{ api_claim('sub') }}, {{ api_claim('role') }}, session_user::text),
        {{ name }}.note, {% if with_assignee %}{{ name }}.assignee{% else %}null{% endif %});
end
$$
{%- endmacro %}
