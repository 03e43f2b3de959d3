{%- set bookkeeping = {'fingerprint_seeds': ['locations']} -%}
{{ per_order_mart(bookkeeping, indexes=[
    {'columns': ['order_id', 'step_number'], 'unique': true},
    {'columns': ['event_id'], 'unique': true},
    {'columns': ['source_system', 'source_record_key']},
]) }}

-- the events mart the rebuilt orders are read from (macro orders_to_rebuild)
-- depends_on: {{ ref('fct_order_status_events') }}

-- Every canonical (mapped) event of an order in the order it happened, with the shipment
-- it belongs to, the node where it happened, and its role - the rules live in the step
-- models this one reads through (views: PostgreSQL inlines them, so the literal order
-- filter below reaches the events mart; models/intermediate/steps):
--   * int_order_steps__scoped: the shipment of each event (a warehouse delivery and the
--     tracker carrying its parcel; a tracker no delivery claims, a return when it reaches
--     a company warehouse);
--   * int_order_steps__flagged: the order of the steps (event time, never arrival; ties
--     by precedence, then rank), steps after a terminal status of their shipment or order
--     (regressions when physical), clock-skewed steps, where runs of a status begin;
--   * int_order_steps__decided: the step that decides each shipment and the order (the
--     order's status rolled up from its shipments, its own steps, its payment).
-- Incremental per order: the orders whose events were (re)derived since the last run,
-- and the orders a re-derived record left.
{%- set state = incremental_state() %}
{%- set rebuilt = rebuilt_orders_condition(state) %}

with

steps as (

    select * from {{ ref('int_order_steps__decided') }}
    where {{ rebuilt }}

),

events as (

    -- the rebuilt orders' events only (a step's event is of its order): read through the
    -- order index, not the whole mart hashed for a few orders' steps
    select * from {{ ref('fct_order_status_events') }}
    where {{ rebuilt }}

),

locations as (

    select * from {{ ref('locations') }}

),

final as (

    select

        ---------- ids
        steps.order_id,
        steps.step_number,
        steps.event_id,

        ---------- the step's role
        steps.step_number = steps.step_count as is_last_step,
        steps.decides_status,
        steps.decided_status,
        steps.decides_shipment_status,
        steps.shipment_status,
        steps.is_regression,
        steps.is_after_terminal,
        steps.is_clock_skewed,
        steps.starts_status_run,

        ---------- what happened
        steps.event_time,
        steps.canonical_status,
        events.cbv_biz_step,
        events.cbv_disposition,
        steps.lifecycle_rank,
        steps.is_terminal,
        steps.payment_state,
        steps.status_precedence,
        steps.event_class,
        events.event_message,

        ---------- the shipment (null for the order's own steps)
        steps.shipment_id,
        steps.shipment_direction,
        events.carrier,
        events.tracking_code,

        ---------- where (stores and warehouses from the locations seed, carrier
        ---------- locations as the carrier reports them)
        events.node,
        events.node_type,
        locations.node_name,
        coalesce(locations.city, case when events.node_type like 'carrier%' then events.node end) as node_city,
        coalesce(locations.region, events.node_region) as node_region,
        coalesce(locations.country, events.node_country) as node_country,

        ---------- which system said so
        steps.source_system,
        steps.source_field,
        events.source_code,
        events.normalised_code,
        events.source_record_key,
        events.crosswalk_version,

        ---------- build bookkeeping
        {{ bookkeeping_columns(bookkeeping.fingerprint_seeds) }}

    from steps
    inner join events
        on steps.event_id = events.event_id
    left join locations
        on events.node_type = locations.node_type
        and events.node = locations.node_code

)

select * from final
