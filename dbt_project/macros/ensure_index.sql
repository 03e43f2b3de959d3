{#- SQL for a post-hook: an index on ``columns`` of ``relation``, created (unnamed: PostgreSQL
    picks a free name) only when the table has no index on exactly those columns, in that
    order. `create index if not exists <name>` would take its lock on every build before it
    checks, and miss after a full refresh, whose backup table still holds the name. -#}
{% macro ensure_index_sql(relation, columns) -%}
do $$
begin
    if not exists (
        select from pg_index as i
        where i.indrelid = {{ text_literal(relation | string) }}::regclass
            and (
                select array_agg(a.attname::text order by k.position)
                from unnest(i.indkey::int2[]) with ordinality as k(attnum, position)
                join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
            ) = array[{{ text_literals(columns) }}]::text[]
    ) then
        create index on {{ relation }} ({{ columns | join(', ') }});
    end if;
end
$$
{%- endmacro %}
