{#- The time the sources are known as of - the SLA clock: the wall clock bounded by the
    latest successful extraction (orderhub_meta), so a rebuild of the same data finds the
    same result and no event's own time (a skewed one dated in the future) moves it; or the
    var exceptions_as_of. A timestamptz expression. Only polls count: a pushed micro-batch
    (batch id "push-...", orderhub/live/intake.py) tells of the records it carries, not of
    every source as of its time, so the clock moves with the polls and the hot path, which
    recomputes only the orders a push touched, agrees with a full build. A sync counts only
    when none of its batches (same system and start) failed or is still running. -#}
{% macro sources_as_of() -%}
    {%- if var('exceptions_as_of', none) -%}
        cast({{ text_literal(var('exceptions_as_of')) }} as timestamptz)
    {%- else -%}
        least(
            now(),
            (
                select max(polled.started_at)
                from {{ source('orderhub_meta', 'extraction_batches') }} as polled
                where polled.status = 'succeeded'
                    and not coalesce(polled.batch_id like 'push-%', false)
                    -- a sync counts once every batch of it succeeded (a long stream closes
                    -- several, all with the sync's start: connectors/README.md)
                    and not exists (
                        select from {{ source('orderhub_meta', 'extraction_batches') }} as other
                        where other.system = polled.system
                            and other.started_at = polled.started_at
                            and other.status <> 'succeeded'
                    )
            )
        )
    {%- endif -%}
{%- endmacro %}
