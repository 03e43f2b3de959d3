{#- Custom schema names are used as they are (staging, intermediate, marts, api,
    seeds), not prefixed with the target schema - but the marts go to the colour a
    write-audit-publish build names (var mart_colour: blue or green, schema marts_<colour>;
    README, "Publishing"). Without the var a build writes the schema marts itself, as a
    development build or the dbt tests do. The intermediate views that read a mart (the
    steps, the customers' tiers, the order attributes: custom schema intermediate_marts)
    go with the colour too, so each colour has its own, reading its own marts: a reader of
    a colour (the live hot path, the publish step's recompute) never reads another
    colour's rows through them. Without the var they are intermediate views like the
    others (a publish replaces the marts tables of a development build; no view of its own
    must stand on them there). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set colour = var('mart_colour', none) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'intermediate_marts' -%}
        {{ generate_schema_name('marts', node) if colour else 'intermediate' }}
    {%- elif custom_schema_name | trim == 'marts' and colour -%}
        {%- if colour not in ('blue', 'green') -%}
            {{ exceptions.raise_compiler_error("mart_colour must be blue or green, not " ~ colour) }}
        {%- endif -%}
        marts_{{ colour }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
