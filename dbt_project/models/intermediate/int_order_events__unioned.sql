-- Every status observation of every system, one shape. ERP, CRM and WMS records are
-- state snapshots: a version that repeats the previous version's code for the same
-- field (in event-time order) observes the same event again and is left out, so an
-- event is the moment a code appeared. TMS tracking details are events already.
-- Windows are partitioned by (source_system, source_record_key) so that a filter on
-- those columns (the incremental fct_order_status_events) reaches the raw tables.
with

erp_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

crm_fulfillment_orders as (

    select * from {{ ref('stg_crm__fulfillment_orders') }}

),

wms_pickings as (

    select * from {{ ref('stg_wms__pickings') }}

),

tms_tracking_events as (

    select * from {{ ref('stg_tms__tracking_events') }}

),

erp_observations as (

    select
        erp_orders.order_id,
        'erp' as source_system,
        status_fields.source_field,
        status_fields.source_code,
        erp_orders.changed_at as event_time,
        erp_orders.store_id as node,
        'store' as node_type,
        cast(null as text) as node_region,
        cast(null as text) as node_country,
        cast(null as text) as event_message,
        erp_orders.record_key as source_record_key,
        erp_orders.content_hash,
        erp_orders.batch_id,
        erp_orders.extracted_at

    from erp_orders
    cross join lateral (
        values
            ('OverallSDProcessStatus', erp_orders.overall_sd_process_status),
            ('OverallTotalDeliveryStatus', erp_orders.overall_total_delivery_status),
            ('OverallSDDocumentRejectionSts', erp_orders.overall_sd_document_rejection_status),
            ('YY1_ShopFinancialStatus_SDH', erp_orders.shop_financial_status)
    ) as status_fields (source_field, source_code)
    -- the web shop's financial status is optional (store orders have none)
    where status_fields.source_code is not null
        or status_fields.source_field <> 'YY1_ShopFinancialStatus_SDH'

),

crm_observations as (

    select
        order_id,
        'crm' as source_system,
        'FulfillmentOrder.Status' as source_field,
        status as source_code,
        changed_at as event_time,
        fulfilled_from_location as node,
        'warehouse' as node_type,
        cast(null as text) as node_region,
        cast(null as text) as node_country,
        cast(null as text) as event_message,
        record_key as source_record_key,
        content_hash,
        batch_id,
        extracted_at

    from crm_fulfillment_orders

),

wms_observations as (

    select
        order_id,
        'wms' as source_system,
        picking_type_code || '.state' as source_field,
        state as source_code,
        changed_at as event_time,
        warehouse as node,
        'warehouse' as node_type,
        cast(null as text) as node_region,
        cast(null as text) as node_country,
        cast(null as text) as event_message,
        record_key as source_record_key,
        content_hash,
        batch_id,
        extracted_at

    from wms_pickings

),

snapshot_observations as (

    select * from erp_observations
    union all
    select * from crm_observations
    union all
    select * from wms_observations

),

snapshot_changes as (

    select
        *,
        lag(source_code) over (
            partition by source_system, source_record_key, source_field
            order by event_time, extracted_at, content_hash
        ) as previous_code

    from snapshot_observations

),

tms_observations as (

    select
        order_id,
        'tms' as source_system,
        'tracker.status' as source_field,
        status as source_code,
        event_time,
        city as node,
        -- a scan at a carrier facility (hub) or anywhere else the carrier reports from
        case
            when status_detail like '%facility%' then 'carrier_hub'
            else 'carrier_location'
        end as node_type,
        state as node_region,
        country as node_country,
        message as event_message,
        record_key as source_record_key,
        content_hash,
        batch_id,
        extracted_at

    from tms_tracking_events

),

unioned as (

    select
        order_id,
        source_system,
        source_field,
        source_code,
        event_time,
        node,
        node_type,
        node_region,
        node_country,
        event_message,
        source_record_key,
        content_hash,
        batch_id,
        extracted_at

    from snapshot_changes
    where previous_code is distinct from source_code

    union all

    select * from tms_observations

)

select * from unioned
