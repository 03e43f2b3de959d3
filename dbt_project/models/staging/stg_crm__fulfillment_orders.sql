{{ config(post_hook="{{ crm_order_index() }}") }}

with

source as (

    select * from {{ source('crm', 'fulfillment_orders') }}

),

renamed as (

    select

        ---------- ids
        data ->> 'Id' as fulfillment_order_id,
        data ->> 'FulfillmentOrderNumber' as fulfillment_order_number,
        {{ crm_order_number() }} as order_id,

        ---------- strings
        data ->> 'Status' as status,
        data -> 'FulfilledFromLocation' ->> 'Name' as fulfilled_from_location,
        data ->> 'DeliveryMethod' as delivery_method,
        data ->> 'FulfilledToCountryCode' as fulfilled_to_country,

        ---------- booleans (queryAll serves records in the recycle bin: IsDeleted true)
        coalesce(cast(data ->> 'IsDeleted' as boolean), false) as is_deleted,

        ---------- timestamps (Salesforce writes 2026-10-03T14:05:09.000+0000; both cast)
        cast(data ->> 'CreatedDate' as timestamptz) as created_at,
        cast(data ->> 'LastModifiedDate' as timestamptz) as changed_at,
        cast(data ->> 'SystemModstamp' as timestamptz) as system_modstamp,

        ---------- provenance
        {{ raw_provenance() }}

    from source

)

select * from renamed
