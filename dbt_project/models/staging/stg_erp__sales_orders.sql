with

source as (

    select * from {{ source('erp', 'sales_orders') }}

),

renamed as (

    select

        ---------- ids
        data ->> 'SalesOrder' as order_id,
        data ->> 'SoldToParty' as customer_id,
        data ->> 'SalesOffice' as store_id,

        ---------- strings
        data ->> 'SalesOrderType' as order_type,
        data ->> 'SalesOrganization' as sales_organization,
        data ->> 'DistributionChannel' as distribution_channel,
        case data ->> 'DistributionChannel'
            when '10' then 'web'
            when '20' then 'store'
            else data ->> 'DistributionChannel'
        end as channel,
        data ->> 'SalesDistrict' as region,
        data ->> 'ShipToCountry' as ship_to_country,
        data ->> 'ShipToRegion' as ship_to_region,
        data ->> 'TransactionCurrency' as currency,

        ---------- status codes (text, as sent; an empty or missing SD status is BLANK,
        ---------- SAP's "not relevant"; the web shop's financial status is null when empty)
        {{ sap_status('OverallSDProcessStatus') }} as overall_sd_process_status,
        {{ sap_status('OverallTotalDeliveryStatus') }} as overall_total_delivery_status,
        {{ sap_status('OverallSDDocumentRejectionSts') }} as overall_sd_document_rejection_status,
        nullif(data ->> 'YY1_ShopFinancialStatus_SDH', '') as shop_financial_status,
        -- an item rejected (A_SalesOrderItem.SalesDocumentRjcnReason, SAP's way to cancel an
        -- item): the reason of the first rejected item in the order's item list, null when
        -- none is (the derivation spec's "first" expression reads the same)
        (
            select nullif(item.value ->> 'SalesDocumentRjcnReason', '')
            from jsonb_array_elements(
                {{ jsonb_array_or_empty("data -> 'to_Item' -> 'results'") }}
            ) with ordinality as item (value, position)
            where nullif(item.value ->> 'SalesDocumentRjcnReason', '') is not null
            order by item.position
            limit 1
        ) as item_rejection_reason,

        ---------- numerics
        cast(data ->> 'TotalNetAmount' as numeric) as total_net_amount,

        ---------- a version saying the order is gone, and how that was learnt (the code of its
        ---------- SalesOrder.Deleted event): 'true' from SAP's SalesOrder.Deleted business
        ---------- event (the live receiver writes its type into _deleted_by_event),
        ---------- 'missing_at_source' from `orderhub connector reconcile` (the order is no
        ---------- longer listed and no event said so: _deleted_by_reconciliation); the
        ---------- derivation spec's erp "deletion" says the same
        case
            when data ->> '_deleted_by_event' like '%.SalesOrder.Deleted.v%' then 'true'
            when data ->> '_deleted_by_reconciliation' is not null then 'missing_at_source'
        end as deletion_code,


        ---------- timestamps (ISO 8601, or SAP's OData V2 /Date(ms)/ and /Date(ms+offset)/)
        {{ odata_datetime('CreationDate') }} as created_at,
        {{ odata_datetime('LastChangeDateTime') }} as changed_at,

        ---------- provenance
        {{ raw_provenance() }},

        ---------- the raw items of this version, unnested in stg_erp__sales_order_items
        data -> 'to_Item' -> 'results' as items

    from source

),

flagged as (

    select *, deletion_code is not null as is_deleted

    from renamed

),

final as (

    -- partitioned by record_key (= SalesOrder) so that a filter on record_key, such as
    -- the incremental fct_order_status_events sets, reaches the raw table; a deletion is
    -- never the latest version (it carries no items or amounts: the order's last entity
    -- stays what it was, and the deletion is an event)
    select
        *,
        not is_deleted and row_number() over (
            partition by record_key
            order by is_deleted, changed_at desc, extracted_at desc, content_hash desc
        ) = 1 as is_latest_version

    from flagged

)

select * from final
