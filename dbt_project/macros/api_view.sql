{#- The body of an api view: the columns its yml documents - the published contract, in
    that order - selected from `relation`. A column is published by documenting it in
    models/api/_api__models.yml, and only then; an api view that documents none fails. -#}
{% macro api_view(relation) -%}
    {%- set names = model.columns.keys() | list -%}
    {%- if execute and not names -%}
        {{ exceptions.raise_compiler_error(
            "api view " ~ model.name ~ " documents no column in models/api/_api__models.yml"
        ) }}
    {%- endif %}
with

source as (

    select * from {{ relation }}

),

final as (

    select
        {{- select_list(names) }}

    from source

)

select * from final
{%- endmacro %}
