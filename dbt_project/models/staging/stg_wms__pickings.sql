with

source as (

    select * from {{ source('wms', 'pickings') }}

),

renamed as (

    select

        ---------- ids
        cast(data ->> 'id' as bigint) as picking_id,
        data ->> 'name' as picking_name,
        -- Odoo sends false for an empty reference
        case when jsonb_typeof(data -> 'origin') = 'string' then nullif(data ->> 'origin', '') end as order_id,
        case when jsonb_typeof(data -> 'group_id') = 'array' then data -> 'group_id' ->> 1 end as procurement_group,
        case
            when jsonb_typeof(data -> 'carrier_tracking_ref') = 'string'
                then nullif(data ->> 'carrier_tracking_ref', '')
        end as carrier_tracking_ref,

        ---------- strings
        data ->> 'picking_type_code' as picking_type_code,
        data ->> 'state' as state,
        data ->> 'warehouse' as warehouse,
        data -> 'location_id' ->> 1 as source_location,
        data -> 'location_dest_id' ->> 1 as destination_location,

        ---------- timestamps (Odoo sends false for an empty date)
        cast(data ->> 'scheduled_date' as timestamptz) as scheduled_at,
        case
            when jsonb_typeof(data -> 'date_done') = 'string'
                then cast(data ->> 'date_done' as timestamptz)
        end as done_at,
        cast(data ->> 'create_date' as timestamptz) as created_at,
        cast(data ->> 'write_date' as timestamptz) as changed_at,

        ---------- provenance
        {{ raw_provenance() }}

    from source

)

select * from renamed
