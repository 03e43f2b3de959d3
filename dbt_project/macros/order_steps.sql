{#- The columns of an order's steps as the step models pass them on (models/intermediate/
    steps), written once: what int_order_steps__scoped returns, what __flagged adds, what
    __decided adds. Only what the rules read; fct_order_timeline joins the rest of each
    event back from fct_order_status_events. -#}
{% macro order_step_columns(stage) -%}
    {%- set scoped = [
        'event_id', 'order_id', 'event_time', 'source_system', 'source_field',
        'canonical_status', 'lifecycle_rank', 'is_terminal', 'payment_state',
        'status_precedence', 'event_class', 'is_clock_skewed', 'shipment_id',
        'shipment_direction',
    ] -%}
    {%- set flagged = scoped + [
        'step_number', 'step_count', 'is_lifecycle_step', 'is_after_terminal',
        'is_regression', 'may_decide', 'starts_status_run',
    ] -%}
    {%- set decided = flagged + [
        'decides_shipment_status', 'shipment_status', 'decides_status', 'decided_status',
    ] -%}
    {{ return({'scoped': scoped, 'flagged': flagged, 'decided': decided}[stage]) }}
{%- endmacro %}
