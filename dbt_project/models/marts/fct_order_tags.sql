{{ config(indexes=[
    {'columns': ['order_id', 'tag'], 'unique': true},
    {'columns': ['tag']},
]) }}

-- Order feature tags (cold_chain, manual_review, modifiable, priority, ...) from the
-- business rules of seeds/order_tag_rules.csv, compiled into SQL by the macro
-- compile_order_tag_rules: one row per order and tag, with the rules that set it. A rule
-- change is a seed change plus a build. Rebuilt in full each run: a customer's tier, and
-- so every one of their orders' tags, moves with any of their orders.
{%- set rules = order_tag_rules() %}

with

order_attributes as (

    select * from {{ ref('int_order_attributes__joined') }}

),

matches as (
    {{ compile_order_tag_rules(rules, 'order_attributes') }}
),

final as (

    select
        order_id,
        tag,
        array_agg(rule_id order by rule_id) as rule_ids,
        {{ inputs_fingerprint(['order_tag_rules', 'product_catalog', 'customer_tiers']) }}
            as rules_version

    from matches
    group by order_id, tag

)

select * from final
