with

tags as (

    select * from {{ ref('fct_order_tags') }}

),

final as (

    select
        order_id,
        tag,
        rule_ids,
        rules_version

    from tags

)

select * from final
