{#- The time the sources are known as of - the SLA clock: the wall clock bounded by the
    latest successful extraction (orderhub_meta), so a rebuild of the same data finds the
    same result and no event's own time (a skewed one dated in the future) moves it; or the
    var exceptions_as_of. A timestamptz expression. -#}
{% macro sources_as_of() -%}
    {%- if var('exceptions_as_of', none) -%}
        cast({{ text_literal(var('exceptions_as_of')) }} as timestamptz)
    {%- else -%}
        least(
            now(),
            (
                select max(started_at)
                from {{ source('orderhub_meta', 'extraction_batches') }}
                where status = 'succeeded'
            )
        )
    {%- endif -%}
{%- endmacro %}
