{#- The time the sources are known as of - the SLA clock: the wall clock bounded by the
    latest successful extraction (orderhub_meta), so a rebuild of the same data finds the
    same result and no event's own time (a skewed one dated in the future) moves it; or the
    var exceptions_as_of. A timestamptz expression. Only polls count: a pushed micro-batch
    (batch id "push-...", orderhub/live/intake.py) tells of the records it carries, not of
    every source as of its time, so the clock moves with the polls and the hot path, which
    recomputes only the orders a push touched, agrees with a full build. -#}
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
                    and not coalesce(batch_id like 'push-%', false)
            )
        )
    {%- endif -%}
{%- endmacro %}
