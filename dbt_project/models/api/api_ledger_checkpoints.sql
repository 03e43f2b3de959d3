with

checkpoints as (

    select * from {{ source('ledger', 'checkpoints') }}

),

final as (

    select
        tree_size,
        root_hash,
        note,
        created_at

    from checkpoints

)

select * from final
